//! Warnings and `-v` notes for the user, on stderr. The picker switches to
//! capture mode so that nothing is written over its screen; it then shows
//! the captured lines in its status line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static VERBOSE: AtomicBool = AtomicBool::new(false);
static CAPTURE: AtomicBool = AtomicBool::new(false);
static CAPTURED: Mutex<Vec<String>> = Mutex::new(Vec::new());

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

fn emit(line: String) {
    if CAPTURE.load(Ordering::Relaxed) {
        CAPTURED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    } else {
        eprintln!("rolepick: {line}");
    }
}

/// Something the user should know and may want to fix.
pub fn warn(msg: &str) {
    emit(format!("warning: {msg}"));
}

/// A note shown only with `-v`.
pub fn debug(msg: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        emit(msg.to_string());
    }
}
