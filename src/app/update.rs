//! The picker's behaviour: `update(&mut State, Msg) -> Vec<Effect>`.
//! Pure: no I/O, no clock (time arrives as `Msg::Tick`), never blocks.
//!
//! Opening a role (`Enter`) or re-authenticating (`r`) walks, as needed:
//! the vault passphrase modal (when the source's key is in a vault that only
//! a typed passphrase opens; the passphrase is tried before going on), the
//! MFA modal (when a new MFA session needs a code), then one credential
//! request carrying both secrets, then the subshell.
//!
//! `o` walks the same way to the role's credentials, then asks the runtime to
//! open the AWS console with them in a browser; the picker stays open and
//! the status line says how it went.
//!
//! From [`ALERT_DAYS`](crate::vault::store::ALERT_DAYS) the selected role's
//! source key can be rotated (`R`, then `y`): the runtime runs
//! `rolepick rotate SOURCE` with the terminal handed over.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use crate::app::msg::{Effect, Failure, FailureKind, Fetched, Msg};
use crate::app::state::{
    countdown, Intent, MfaModal, Modal, PassphraseModal, Pending, Refresh, RotateModal, State,
    PASSPHRASE_CAPACITY, SPINNER,
};
use crate::vault::secret::SecretString;

/// Rows the mouse wheel scrolls per notch.
const WHEEL_STEP: isize = 3;

/// Applies one message; returns the I/O to perform.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Mouse(m) => {
            if state.modal.is_none() && !state.help {
                match m.kind {
                    MouseEventKind::ScrollDown => move_by(state, WHEEL_STEP),
                    MouseEventKind::ScrollUp => move_by(state, -WHEEL_STEP),
                    _ => {}
                }
            }
            vec![]
        }
        Msg::Tick { now } => {
            state.now = now;
            if state.pending.is_some() {
                state.spinner = (state.spinner + 1) % SPINNER.len();
            }
            vec![]
        }
        Msg::Resize { width, height } => {
            state.width = width;
            state.height = height;
            let page = state.list_rows();
            state.list.ensure_visible(page);
            vec![]
        }
        Msg::CredsDone {
            req_id,
            profile,
            result,
        } => on_creds(state, req_id, &profile, result),
        Msg::PassphraseChecked { req_id, result } => on_passphrase_checked(state, req_id, result),
        Msg::ShellExited { profile, result } => {
            match result {
                Ok(0) => state.info(format!("Back from {profile}")),
                Ok(code) => state.info(format!("Back from {profile} (exit status {code})")),
                Err(e) => state.error(e),
            }
            vec![]
        }
        Msg::Expiries(e) => {
            state.role_expiry = e.roles;
            state.session_expiry = e.sessions;
            for s in &mut state.sources {
                s.vault = e.vaults.get(&s.name).cloned();
                s.key_age = e.key_ages.get(&s.name).copied();
            }
            vec![]
        }
        Msg::ConsoleOpened {
            req_id,
            profile: _,
            result,
        } => {
            if state.pending.take_if(|p| p.req_id == req_id).is_some() {
                match result {
                    Ok(text) => state.info(text),
                    Err(e) => state.error(e),
                }
            }
            vec![]
        }
        Msg::Rotated { source, result } => {
            match result {
                Ok(0) => state.info(format!("Rotated the access key of source {source}")),
                Ok(code) => state.error(format!(
                    "`rolepick rotate {source}` failed (exit status {code}); run it in a shell to see why and resume"
                )),
                Err(e) => state.error(e),
            }
            vec![]
        }
        Msg::LiveShells(live) => {
            state.live_shells = live;
            vec![]
        }
        Msg::Notice { profile, text } => on_notice(state, profile.as_deref(), text),
        Msg::Terminate { .. } => vec![Effect::Quit],
        Msg::Suspend => vec![],
        Msg::Paste(text) => on_paste(state, &text),
        Msg::Diag(lines) => {
            if let Some(last) = lines.last() {
                let more = lines.len() - 1;
                state.warn(if more == 0 {
                    last.clone()
                } else {
                    format!("{last} (+{more} more)")
                });
            }
            vec![]
        }
    }
}

/// Longest filter kept; the rest of a longer paste is dropped, with a note.
pub const FILTER_MAX: usize = 200;

/// Pasted text goes where typed text would: the filter (one line, control
/// characters dropped, capped at [`FILTER_MAX`]), the MFA code (its digits)
/// or the passphrase. Elsewhere it is ignored.
fn on_paste(state: &mut State, text: &str) -> Vec<Effect> {
    match state.modal.as_mut() {
        Some(Modal::Mfa(m)) if m.submitted.is_none() => {
            for c in text.chars().filter(char::is_ascii_digit) {
                if m.code.len() < 6 {
                    m.code.push(c);
                }
            }
        }
        Some(Modal::Passphrase(m)) if m.submitted.is_none() => {
            for c in text.chars().filter(|c| !c.is_control()) {
                let _ = m.input.push(c);
            }
        }
        Some(_) => {}
        None if state.list.filter().editing => {
            let mut t = state.list.filter().text.clone();
            t.extend(text.chars().filter(|c| !c.is_control()));
            set_filter_capped(state, t);
        }
        None => {}
    }
    vec![]
}

fn capped_note() -> String {
    format!("The filter keeps its first {FILTER_MAX} characters; the rest was dropped")
}

/// Sets the filter, cut to [`FILTER_MAX`] characters (saying so when cut).
fn set_filter_capped(state: &mut State, mut t: String) {
    if let Some((cut, _)) = t.char_indices().nth(FILTER_MAX) {
        t.truncate(cut);
        state.warn(capped_note());
    }
    set_filter(state, t);
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return vec![];
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
        return vec![Effect::Quit];
    }
    match state.modal {
        Some(Modal::Mfa(_)) => return on_mfa_key(state, key),
        Some(Modal::Passphrase(_)) => return on_passphrase_key(state, key, ctrl),
        Some(Modal::Rotate(_)) => return on_rotate_key(state, key),
        None => {}
    }
    if state.help {
        match key.code {
            KeyCode::Esc | KeyCode::Char('?') => state.help = false,
            KeyCode::Char('q') => return vec![Effect::Quit],
            _ => {}
        }
        return vec![];
    }
    if navigate(state, key) {
        return vec![];
    }
    if state.list.filter().editing {
        match key.code {
            KeyCode::Esc => {
                state.list.set_editing(false);
                set_filter(state, String::new());
            }
            KeyCode::Enter => {
                // Keys go back to commands (q, j/k) when the user returns;
                // the filter text stays, `/` edits it again.
                state.list.set_editing(false);
                return open_selected(state);
            }
            KeyCode::Backspace => {
                let mut t = state.list.filter().text.clone();
                t.pop();
                set_filter(state, t);
            }
            KeyCode::Char('u') if ctrl => set_filter(state, String::new()),
            KeyCode::Char(c) if !ctrl => {
                if state.list.filter().text.chars().count() >= FILTER_MAX {
                    // Keys past the cap (a long unbracketed paste) are
                    // dropped without re-filtering thousands of times.
                    state.warn(capped_note());
                    return vec![];
                }
                let mut t = state.list.filter().text.clone();
                t.push(c);
                set_filter(state, t);
            }
            _ => {}
        }
        return vec![];
    }
    match key.code {
        KeyCode::Char('q') => return vec![Effect::Quit],
        KeyCode::Esc if !state.list.filter().text.is_empty() => set_filter(state, String::new()),
        KeyCode::Char('?') => state.help = true,
        KeyCode::Char('/') => state.list.set_editing(true),
        KeyCode::Char('j') => move_by(state, 1),
        KeyCode::Char('k') => move_by(state, -1),
        KeyCode::Char('g') => move_to_end(state, false),
        KeyCode::Char('G') => move_to_end(state, true),
        KeyCode::Enter => return open_selected(state),
        KeyCode::Char('r') => return reauth_selected(state),
        KeyCode::Char('o') => return console_selected(state),
        KeyCode::Char('R') => ask_rotate(state),
        _ => {}
    }
    vec![]
}

/// `R`: asks to rotate the selected role's source key, when it is old enough.
fn ask_rotate(state: &mut State) {
    let Some((source, age)) = state.rotate_offered() else {
        return;
    };
    let source = source.to_string();
    let profile = state
        .selected()
        .map(|r| r.profile.clone())
        .unwrap_or_default();
    state.modal = Some(Modal::Rotate(RotateModal {
        profile,
        source,
        age,
    }));
}

fn on_rotate_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Char('y' | 'Y') => {
            let Some(Modal::Rotate(m)) = state.modal.take() else {
                return vec![];
            };
            state.info(format!("Rotating the access key of source {}…", m.source));
            vec![Effect::RotateKey { source: m.source }]
        }
        KeyCode::Char('n' | 'N') | KeyCode::Esc => {
            cancel_modal(state, "Rotation");
            vec![]
        }
        _ => vec![],
    }
}

/// Moves the list's cursor by `delta` role rows, keeping it on screen.
fn move_by(state: &mut State, delta: isize) {
    let page = state.list_rows();
    state.list.move_by(delta, page);
}

/// Moves the list's cursor to the first (`end == false`) or last role row.
fn move_to_end(state: &mut State, end: bool) {
    let page = state.list_rows();
    state.list.move_to_end(end, page);
}

/// Sets the filter text and re-filters the list.
fn set_filter(state: &mut State, text: String) {
    let page = state.list_rows();
    state.list.set_filter(text, page);
}

/// Keys that move the cursor in every mode but the modal. True when handled.
fn navigate(state: &mut State, key: KeyEvent) -> bool {
    let page = isize::try_from(state.list_rows()).unwrap_or(1).max(1);
    match key.code {
        KeyCode::Up => move_by(state, -1),
        KeyCode::Down => move_by(state, 1),
        KeyCode::PageUp => move_by(state, -page),
        KeyCode::PageDown => move_by(state, page),
        KeyCode::Home => move_to_end(state, false),
        KeyCode::End => move_to_end(state, true),
        _ => return false,
    }
    true
}

/// Closes the modal (its secrets are zeroized as it drops); a request it
/// submitted is abandoned, so its answer will be stale.
fn cancel_modal(state: &mut State, what: &str) {
    if state.modal.as_ref().and_then(Modal::submitted).is_some() {
        state.pending = None;
    }
    state.modal = None;
    state.info(format!("{what} cancelled"));
}

fn on_mfa_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Modal::Mfa(modal)) = state.modal.as_mut() else {
        return vec![];
    };
    match key.code {
        KeyCode::Esc => cancel_modal(state, "MFA"),
        _ if modal.submitted.is_some() => {}
        KeyCode::Char(c) if c.is_ascii_digit() && modal.code.len() < 6 => modal.code.push(c),
        KeyCode::Backspace => {
            modal.code.pop();
        }
        KeyCode::Enter if modal.code.len() == 6 => {
            let (profile, code, passphrase, refresh, intent) = (
                modal.profile.clone(),
                modal.code.clone(),
                modal.passphrase.clone(),
                modal.refresh,
                modal.intent,
            );
            let (req_id, effect) =
                start_fetch(state, &profile, Some(code), passphrase, refresh, intent);
            if let Some(Modal::Mfa(m)) = state.modal.as_mut() {
                m.submitted = Some(req_id);
                m.error = None;
            }
            return vec![effect];
        }
        _ => {}
    }
    vec![]
}

fn on_passphrase_key(state: &mut State, key: KeyEvent, ctrl: bool) -> Vec<Effect> {
    let Some(Modal::Passphrase(modal)) = state.modal.as_mut() else {
        return vec![];
    };
    match key.code {
        KeyCode::Esc => cancel_modal(state, "Unlocking the vault"),
        _ if modal.submitted.is_some() => {}
        KeyCode::Backspace => modal.input.pop(),
        KeyCode::Char('u') if ctrl => modal.input.clear(),
        KeyCode::Char(c) if !ctrl && !c.is_control() => {
            // Past the capacity the key is ignored, like a seventh MFA digit.
            let _ = modal.input.push(c);
        }
        KeyCode::Enter if !modal.input.is_empty() => {
            let (profile, refresh, intent) = (modal.profile.clone(), modal.refresh, modal.intent);
            let passphrase = modal.input.clone();
            let code_next = state
                .list
                .row_of(&profile)
                .is_some_and(|r| needs_code(state, r, refresh));
            let (req_id, effect) = if code_next {
                // Try it now, so that a typo is caught here and not after
                // the user has also typed an MFA code.
                let req_id = new_pending(state, &profile, intent);
                (req_id, Effect::CheckPassphrase { req_id, passphrase })
            } else {
                start_fetch(state, &profile, None, Some(passphrase), refresh, intent)
            };
            if let Some(Modal::Passphrase(m)) = state.modal.as_mut() {
                m.submitted = Some(req_id);
                m.error = None;
            }
            return vec![effect];
        }
        _ => {}
    }
    vec![]
}

/// True when getting credentials for the row needs a code typed by the user.
fn needs_code(state: &State, row: usize, refresh: Refresh) -> bool {
    let r = &state.list.rows()[row];
    let src = &state.sources[r.source];
    r.mfa_serial.is_some()
        && !src.mfa_process
        && (refresh == Refresh::Session || !state.session_valid(&src.name))
}

/// The vault to unlock with a typed passphrase before getting credentials
/// for the row (whose cached ones are not good): a new session, or a role
/// assumed straight from the key, needs the long-lived key.
fn needs_passphrase(state: &State, row: usize, refresh: Refresh) -> Option<PathBuf> {
    let r = &state.list.rows()[row];
    let src = &state.sources[r.source];
    let key_needed =
        refresh == Refresh::Session || r.mfa_serial.is_none() || !state.session_valid(&src.name);
    src.vault.clone().filter(|_| key_needed)
}

fn open_mfa_modal(
    state: &mut State,
    row: usize,
    refresh: Refresh,
    intent: Intent,
    passphrase: Option<SecretString>,
) {
    let r = &state.list.rows()[row];
    state.modal = Some(Modal::Mfa(MfaModal {
        profile: r.profile.clone(),
        source: state.sources[r.source].name.clone(),
        serial: r.mfa_serial.clone().unwrap_or_default(),
        code: String::new(),
        error: None,
        note: None,
        refresh,
        intent,
        submitted: None,
        passphrase,
    }));
}

fn open_passphrase_modal(
    state: &mut State,
    row: usize,
    vault: PathBuf,
    refresh: Refresh,
    intent: Intent,
    error: Option<String>,
) {
    let r = &state.list.rows()[row];
    state.modal = Some(Modal::Passphrase(PassphraseModal {
        profile: r.profile.clone(),
        source: state.sources[r.source].name.clone(),
        vault,
        input: SecretString::with_capacity(PASSPHRASE_CAPACITY),
        error,
        refresh,
        intent,
        submitted: None,
    }));
}

/// Asks for what the user must type (vault passphrase, then MFA code), or
/// fetches straight away when nothing is needed.
fn begin(state: &mut State, row: usize, refresh: Refresh, intent: Intent) -> Vec<Effect> {
    if let Some(vault) = needs_passphrase(state, row, refresh) {
        open_passphrase_modal(state, row, vault, refresh, intent, None);
        return vec![];
    }
    if needs_code(state, row, refresh) {
        open_mfa_modal(state, row, refresh, intent, None);
        return vec![];
    }
    let profile = state.list.rows()[row].profile.clone();
    vec![start_fetch(state, &profile, None, None, refresh, intent).1]
}

fn open_selected(state: &mut State) -> Vec<Effect> {
    let Some(row) = state.list.selected_row() else {
        return vec![];
    };
    let profile = state.list.rows()[row].profile.clone();
    if state.creds_valid(&profile) {
        state.info(format!("Opening a shell for {profile}"));
        return vec![Effect::OpenShell { profile }];
    }
    begin(state, row, Refresh::IfNeeded, Intent::Open)
}

/// The MFA session ran out while `profile`'s shell ran: say so, and start
/// re-authenticating its source (as `r` does) so the next code is asked for
/// at once, with the notice in the MFA modal. Nothing opens over a modal or
/// a request in flight.
fn on_notice(state: &mut State, profile: Option<&str>, text: String) -> Vec<Effect> {
    state.error(text.clone());
    if state.modal.is_some() || state.pending.is_some() || state.help {
        return vec![];
    }
    let Some(row) = profile.and_then(|p| state.list.row_of(p)) else {
        return vec![];
    };
    let effects = begin(state, row, Refresh::Session, Intent::Reauth);
    if let Some(Modal::Mfa(m)) = state.modal.as_mut() {
        m.note = Some(text);
    }
    effects
}

/// `o`: the AWS console for the selected role, once its credentials are
/// good (asking for what must be typed first, as Enter does).
fn console_selected(state: &mut State) -> Vec<Effect> {
    let Some(row) = state.list.selected_row() else {
        return vec![];
    };
    let r = &state.list.rows()[row];
    if !r.is_role {
        let text = format!(
            "Console sign-in needs a role: {} is the MFA session of source {}",
            r.profile, state.sources[r.source].name
        );
        state.error(text);
        return vec![];
    }
    let profile = r.profile.clone();
    if state.creds_valid(&profile) {
        return vec![open_console(state, &profile)];
    }
    begin(state, row, Refresh::IfNeeded, Intent::Console)
}

/// The request to open the console for `profile` (credentials are good).
fn open_console(state: &mut State, profile: &str) -> Effect {
    let req_id = new_pending(state, profile, Intent::Console);
    Effect::OpenConsole {
        req_id,
        profile: profile.to_string(),
    }
}

fn reauth_selected(state: &mut State) -> Vec<Effect> {
    let Some(row) = state.list.selected_row() else {
        return vec![];
    };
    begin(state, row, Refresh::Session, Intent::Reauth)
}

/// Records a request in flight (the spinner shows); returns its id.
fn new_pending(state: &mut State, profile: &str, intent: Intent) -> u64 {
    let req_id = state.next_req_id;
    state.next_req_id += 1;
    state.pending = Some(Pending {
        req_id,
        profile: profile.to_string(),
        intent,
    });
    state.status = None;
    req_id
}

fn start_fetch(
    state: &mut State,
    profile: &str,
    mfa_code: Option<String>,
    passphrase: Option<SecretString>,
    refresh: Refresh,
    intent: Intent,
) -> (u64, Effect) {
    let req_id = new_pending(state, profile, intent);
    let effect = Effect::FetchCredentials {
        req_id,
        profile: profile.to_string(),
        mfa_code,
        passphrase,
        refresh,
    };
    (req_id, effect)
}

fn on_passphrase_checked(
    state: &mut State,
    req_id: u64,
    result: Result<(), Failure>,
) -> Vec<Effect> {
    if state.pending.take_if(|p| p.req_id == req_id).is_none() {
        return vec![]; // stale: the modal was cancelled
    }
    let Some(Modal::Passphrase(m)) = state.modal.take_if(|m| m.submitted() == Some(req_id)) else {
        return vec![];
    };
    match result {
        Ok(()) => {
            let Some(row) = state.list.row_of(&m.profile) else {
                return vec![];
            };
            let (refresh, intent) = (m.refresh, m.intent);
            open_mfa_modal(state, row, refresh, intent, Some(m.input));
            state.info("Vault unlocked");
        }
        Err(e) => {
            let mut m = m;
            m.submitted = None;
            m.input.clear();
            m.error = Some(e.message.clone());
            state.modal = Some(Modal::Passphrase(m));
            state.error(e.message);
        }
    }
    vec![]
}

fn on_creds(
    state: &mut State,
    req_id: u64,
    profile: &str,
    result: Result<Fetched, Failure>,
) -> Vec<Effect> {
    let Some(pending) = state.pending.take_if(|p| p.req_id == req_id) else {
        return vec![]; // stale: the user moved on
    };
    // The modal that submitted this request, if it is still open.
    let modal = state.modal.take_if(|m| m.submitted() == Some(req_id));
    let row = state.list.row_of(profile);
    let source = row.map(|r| state.sources[state.list.rows()[r].source].name.clone());
    match result {
        Ok(f) => {
            drop(modal); // zeroizes the passphrase it held
            state.role_expiry.insert(profile.to_string(), f.expires);
            if let (Some(se), Some(src)) = (f.session_expires, source.as_ref()) {
                state.session_expiry.insert(src.clone(), se);
            }
            let left = countdown(state.now, Some(f.expires))
                .map(|c| c.text)
                .unwrap_or_default();
            match pending.intent {
                Intent::Open => {
                    if f.expires > state.now {
                        state.info(format!("Opening a shell for {profile} ({left} left)"));
                        return vec![Effect::OpenShell {
                            profile: profile.to_string(),
                        }];
                    }
                    state.error(format!(
                        "Credentials for {profile} came back already expired"
                    ));
                }
                Intent::Console => {
                    if f.expires > state.now {
                        return vec![open_console(state, profile)];
                    }
                    state.error(format!(
                        "Credentials for {profile} came back already expired"
                    ));
                }
                Intent::Reauth => state.info(format!(
                    "Re-authenticated {}; {profile} valid for {left}",
                    source.unwrap_or_default()
                )),
            }
        }
        Err(e) => on_failure(state, row, pending.intent, modal, e),
    }
    vec![]
}

/// A credential request failed. Whatever the user must type again is asked
/// in the right modal, with the reason; anything else goes to the status line.
fn on_failure(
    state: &mut State,
    row: Option<usize>,
    intent: Intent,
    modal: Option<Modal>,
    e: Failure,
) {
    let refresh = modal.as_ref().map_or(
        if intent == Intent::Reauth {
            Refresh::Session
        } else {
            Refresh::IfNeeded
        },
        Modal::refresh,
    );
    let Some(row) = row else {
        state.error(e.message);
        return;
    };
    match (e.kind, modal) {
        (FailureKind::PassphraseRejected, modal) => {
            let src = state.list.rows()[row].source;
            let vault = match modal {
                Some(Modal::Passphrase(m)) => Some(m.vault),
                _ => state.sources[src].vault.clone(),
            };
            match vault {
                Some(v) => {
                    open_passphrase_modal(state, row, v, refresh, intent, Some(e.message.clone()));
                }
                None => state.modal = None,
            }
        }
        (FailureKind::PassphraseRequired { vault }, _) => {
            // The engine knows better than our guess: ask for the passphrase.
            let src = state.list.rows()[row].source;
            state.sources[src].vault = Some(vault.clone());
            open_passphrase_modal(state, row, vault, refresh, intent, None);
            state.info("The vault is locked: type its passphrase");
            return;
        }
        (FailureKind::MfaRequired, Some(Modal::Passphrase(m))) => {
            open_mfa_modal(state, row, refresh, intent, Some(m.input));
        }
        (_, Some(Modal::Mfa(mut m))) => {
            m.submitted = None;
            m.code.clear();
            m.error = Some(e.message.clone());
            state.modal = Some(Modal::Mfa(m));
        }
        // The passphrase was good; the failure is elsewhere (AWS refused):
        // asking for it again would mislead. The modal closes.
        (_, Some(Modal::Passphrase(_))) => {}
        (FailureKind::MfaRequired, None) => {
            // The engine knows better than our guess: ask for a code.
            open_mfa_modal(state, row, refresh, intent, None);
        }
        // A rotation confirmation never submits a request.
        (_, None | Some(Modal::Rotate(_))) => {}
    }
    state.error(e.message);
}

#[cfg(test)]
mod tests;
