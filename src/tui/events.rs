//! One channel of [`Msg`]s for the runtime: terminal input (read on its own
//! thread, which can be paused while a subshell owns the terminal), signals
//! (SIGTERM/SIGHUP/SIGINT/SIGQUIT become `Msg::Terminate`, SIGTSTP becomes
//! `Msg::Suspend`, SIGWINCH `Msg::Resize`), and, from the runtime's
//! workers, credential results. Ticks are made by the runtime's
//! `recv_timeout`, aligned to the wall-clock second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGWINCH};
use signal_hook::iterator::Signals;

use crate::app::msg::Msg;

/// How often the input thread checks whether it was paused.
const POLL: Duration = Duration::from_millis(200);

/// How long crossterm may wait for the rest of an event once the terminal
/// has input (and for more events already read with it).
const DRAIN: Duration = Duration::from_millis(1);

#[derive(Default)]
struct Gate {
    paused: bool,
    reading: bool,
}

/// The input thread's controls.
#[derive(Clone)]
pub struct Input {
    gate: Arc<(Mutex<Gate>, Condvar)>,
    stop: Arc<AtomicBool>,
    in_shell: Arc<AtomicBool>,
}

impl Input {
    /// Starts reading terminal input and signals into `tx`.
    pub fn start(tx: &Sender<Msg>) -> std::io::Result<Input> {
        let input = Input {
            gate: Arc::new((Mutex::new(Gate::default()), Condvar::new())),
            stop: Arc::new(AtomicBool::new(false)),
            in_shell: Arc::new(AtomicBool::new(false)),
        };
        let me = input.clone();
        let tx_in = tx.clone();
        thread::Builder::new()
            .name("rolepick-input".into())
            .spawn(move || me.read_loop(&tx_in))?;

        let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGWINCH])?;
        let tx_sig = tx.clone();
        let in_shell = input.in_shell.clone();
        thread::Builder::new()
            .name("rolepick-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    // Ctrl-C typed in a subshell is the subshell's business.
                    // So is a stop: the shell's job control handles it.
                    if (sig == SIGINT || sig == SIGTSTP) && in_shell.load(Ordering::SeqCst) {
                        continue;
                    }
                    let msg = match sig {
                        SIGTSTP => Msg::Suspend,
                        // The input thread waits on the terminal, not on
                        // crossterm, so a resize is told from here.
                        SIGWINCH => match crossterm::terminal::size() {
                            Ok((width, height)) => Msg::Resize { width, height },
                            Err(_) => continue,
                        },
                        _ => Msg::Terminate { signal: sig },
                    };
                    if tx_sig.send(msg).is_err() {
                        break;
                    }
                }
            })?;
        Ok(input)
    }

    fn read_loop(&self, tx: &Sender<Msg>) {
        // Only to wait for input on; crossterm reads through its own handle
        // of the same terminal. Without one, crossterm's wait is used.
        let tty = std::fs::File::open("/dev/tty").ok();
        let (lock, cv) = &*self.gate;
        loop {
            {
                let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
                while g.paused {
                    g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                g.reading = true;
            }
            // Idle, wait on the terminal ourselves: crossterm's own wait
            // (with its /dev/tty reader) spins through the last
            // millisecond of every timeout, which cost ~20 ms of CPU every
            // 3 s. Once there is input, crossterm reads it, and every event
            // that came with it (a paste), at once.
            let mut msgs = Vec::new();
            let ready = tty.as_ref().is_none_or(|t| readable(t, POLL));
            let wait = if tty.is_some() { DRAIN } else { POLL };
            if ready {
                loop {
                    match event::poll(wait) {
                        Ok(true) => match event::read() {
                            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                                msgs.push(Msg::Key(k));
                            }
                            Ok(Event::Mouse(m)) => msgs.push(Msg::Mouse(m)),
                            Ok(Event::Resize(width, height)) => {
                                msgs.push(Msg::Resize { width, height });
                            }
                            Ok(Event::Paste(text)) => msgs.push(Msg::Paste(text)),
                            _ => {}
                        },
                        Ok(false) => break,
                        Err(_) => {
                            thread::sleep(POLL);
                            break;
                        }
                    }
                    if tty.is_none() {
                        break;
                    }
                }
            }
            {
                let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
                g.reading = false;
                cv.notify_all();
            }
            for m in msgs {
                if tx.send(m).is_err() {
                    return;
                }
            }
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    /// Stops reading the terminal; returns once the reader is not inside a read.
    pub fn pause(&self) {
        self.in_shell.store(true, Ordering::SeqCst);
        let (lock, cv) = &*self.gate;
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        g.paused = true;
        while g.reading {
            g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Starts reading the terminal again.
    pub fn resume(&self) {
        let (lock, cv) = &*self.gate;
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        g.paused = false;
        cv.notify_all();
        self.in_shell.store(false, Ordering::SeqCst);
    }

    /// Stops the whole process the way SIGTSTP's default action would;
    /// returns once it is continued (`fg`). Call with the terminal given
    /// back to the shell and input paused.
    pub fn stop_process() {
        let _ = signal_hook::low_level::emulate_default_handler(SIGTSTP);
    }

    /// Ends the input thread (at its next poll).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.resume();
    }
}

/// Whether `tty` has input within `timeout` (an interrupted wait counts as
/// none: the caller comes back soon).
fn readable(tty: &std::fs::File, timeout: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(tty, PollFlags::IN)];
    let t = Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    rustix::event::poll(&mut fds, Some(&t)).is_ok_and(|n| n > 0)
}
