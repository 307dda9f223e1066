//! Warnings and `-v` notes for the user, on stderr. The picker switches to
//! capture mode so that nothing is written over its screen; it then shows
//! the captured lines in its status line.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static VERBOSE: AtomicBool = AtomicBool::new(false);
static CAPTURE: AtomicBool = AtomicBool::new(false);
static CAPTURED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Lines already printed to stderr. The same condition is often met by
/// several readers in one run (a damaged vault index is read by the config
/// loader, each key store and `list`): the user is told once.
static PRINTED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
/// While on, warnings and notes are only kept (see [`held`]), not said.
static HOLDING: AtomicBool = AtomicBool::new(false);
/// While `Some`, every warning and note (shown or not) is also kept here.
static RECORDING: Mutex<Option<Vec<Note>>> = Mutex::new(None);

/// A warning or a `-v` note, as said (for saying it again later: the
/// configuration snapshot replays what its full parse said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Warn(String),
    Debug(String),
}

impl Note {
    /// Says it again, as [`warn`] or [`debug`] would.
    pub fn replay(&self) {
        match self {
            Note::Warn(m) => warn(m),
            Note::Debug(m) => debug(m),
        }
    }
}

/// Runs `f` and returns, with its result, every warning and note said
/// meanwhile (`-v` notes too, whether shown or not). They are still said.
pub fn record<T>(f: impl FnOnce() -> T) -> (T, Vec<Note>) {
    let lock = || RECORDING.lock().unwrap_or_else(|e| e.into_inner());
    let outer = lock().replace(Vec::new());
    let out = f();
    let notes = std::mem::replace(&mut *lock(), outer).unwrap_or_default();
    if let Some(outer) = lock().as_mut() {
        outer.extend(notes.iter().cloned());
    }
    (out, notes)
}

/// Runs `f` saying nothing, and returns, with its result, every warning
/// and note it would have said, for the caller to [`Note::replay`] or
/// drop. The small program holds what it finds until it knows it answers
/// the command itself: when it hands over, the full program says them.
pub fn held<T>(f: impl FnOnce() -> T) -> (T, Vec<Note>) {
    let outer = HOLDING.swap(true, Ordering::Relaxed);
    let out = record(f);
    HOLDING.store(outer, Ordering::Relaxed);
    out
}

fn keep(note: impl FnOnce() -> Note) {
    if let Some(v) = RECORDING.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        v.push(note());
    }
}

/// Whether `-v` notes are shown.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

pub fn set_verbose(v: bool) {
    VERBOSE.store(v, Ordering::Relaxed);
}

/// While on, warnings are kept for [`take_captured`] instead of printed.
pub fn set_capture(on: bool) {
    CAPTURE.store(on, Ordering::Relaxed);
}

pub fn take_captured() -> Vec<String> {
    std::mem::take(&mut *CAPTURED.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Ends capture mode (the terminal is the user's again) and prints what
/// was captured and not yet taken, so that nothing is lost.
pub fn end_capture() {
    set_capture(false);
    for line in take_captured() {
        if first_time(&line) {
            eprintln!("rolepick: {line}");
        }
    }
}

fn emit(line: String) {
    if HOLDING.load(Ordering::Relaxed) {
        return;
    }
    if CAPTURE.load(Ordering::Relaxed) {
        CAPTURED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    } else if first_time(&line) {
        eprintln!("rolepick: {line}");
    }
}

fn first_time(line: &str) -> bool {
    PRINTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(line.to_string())
}

/// Something the user should know and may want to fix.
pub fn warn(msg: &str) {
    keep(|| Note::Warn(msg.to_string()));
    emit(format!("warning: {msg}"));
}

/// A note shown only with `-v`.
pub fn debug(msg: &str) {
    keep(|| Note::Debug(msg.to_string()));
    if VERBOSE.load(Ordering::Relaxed) {
        emit(msg.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_warning_is_printed_once() {
        let line = "warning: a condition met by two readers (diag test)";
        assert!(first_time(line));
        assert!(!first_time(line), "printed twice");
        assert!(first_time("warning: another one (diag test)"));
    }
}
