//! Enter and leave the alternate screen and raw mode. The terminal is restored
//! on every way out: [`TerminalGuard`]'s `Drop` (normal exit, `?` errors),
//! the panic hook, and `Msg::Terminate` from SIGTERM/SIGHUP/SIGINT/SIGQUIT
//! (see `events`); SIGTSTP leaves it the same way until `fg`.
//! [`TerminalGuard::suspend`]/[`TerminalGuard::resume`] hand the terminal to a
//! subshell and take it back.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// True while the terminal is in our full-screen raw state.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back the way a shell expects it. Only the first call
/// after [`TerminalGuard::enter`]/`resume` does anything: leaving the
/// alternate screen twice would restore the cursor saved on entry and
/// overwrite what was printed since (such as a panic message).
pub fn restore() {
    if !TAKEN.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

fn setup(mouse: bool) -> io::Result<()> {
    TAKEN.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    let mut out = io::stdout();
    // Bracketed paste: a paste arrives as one event, not thousands of keys.
    execute!(
        out,
        EnterAlternateScreen,
        cursor::Hide,
        EnableBracketedPaste
    )?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// Installs (once) a panic hook that restores the terminal before the
/// panic message is printed, so the message is readable and the shell sane.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
    });
}

/// Owns the full-screen terminal; restores it when dropped.
pub struct TerminalGuard {
    pub terminal: Term,
    mouse: bool,
    active: bool,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen.
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        install_panic_hook();
        if let Err(e) = setup(mouse) {
            restore();
            return Err(e);
        }
        let terminal = match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        Ok(TerminalGuard {
            terminal,
            mouse,
            active: true,
        })
    }

    /// Leaves raw mode and the alternate screen (for a subshell).
    pub fn suspend(&mut self) {
        restore();
        self.active = false;
    }

    /// Takes the terminal back after a subshell and forces a full redraw.
    pub fn resume(&mut self) -> io::Result<()> {
        setup(self.mouse)?;
        self.active = true;
        self.terminal.clear()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.active {
            restore();
        }
    }
}
