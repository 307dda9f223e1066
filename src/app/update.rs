//! The picker's behaviour: `update(&mut State, Msg) -> Vec<Effect>`.
//! Pure: no I/O, no clock (time arrives as `Msg::Tick`), never blocks.
//!
//! Opening a role (`Enter`) or re-authenticating (`r`) starts a
//! [`Flow`] that walks, as needed: the vault passphrase step (when the
//! source's key is in a vault that only a typed passphrase opens; the
//! passphrase is tried before going on), the MFA code step (when a new MFA
//! session needs a code), then one credential request carrying both
//! secrets, then the subshell. Each message that answers a step is matched
//! against the flow's step and request id; anything else is stale.
//!
//! A request for an IAM Identity Center role whose token cannot be
//! refreshed makes the engine start a device-flow sign-in: its
//! `Msg::SignInStarted` turns the request's step into the sign-in modal
//! (code, URL, countdown); the browser's approval answers the request as
//! usual, and `Esc` cancels it (`Effect::CancelRequest`).
//!
//! `o` walks the same way to the role's credentials, then asks the runtime to
//! open the AWS console with them in a browser; the picker stays open and
//! the status line says how it went.
//!
//! From [`ALERT_DAYS`](crate::model::key_age::ALERT_DAYS) the selected role's
//! source key can be rotated (`R`, then `y`): the runtime runs
//! `rolepick rotate SOURCE` with the terminal handed over.

use std::path::PathBuf;
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use crate::app::flow::{
    CodeStep, Flow, Intent, PassphraseStep, Request, SignInStep, PASSPHRASE_CAPACITY,
};
use crate::app::msg::{Effect, Failure, FailureKind, Fetched, Msg};
use crate::app::state::{countdown, Refresh, RotateModal, State, SPINNER};
use crate::secret::SecretString;

/// Rows the mouse wheel scrolls per notch.
const WHEEL_STEP: isize = 3;

/// Applies one message; returns the I/O to perform.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Mouse(m) => {
            if state.modal().is_none() && !state.help {
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
            if state.pending().is_some() {
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
        Msg::SignInStarted {
            req_id,
            user_code,
            uri,
            expires_at,
        } => {
            on_sign_in_started(state, req_id, user_code, uri, expires_at);
            vec![]
        }
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
                s.key_age_unknown = e.unknown_key_ages.contains(&s.name);
            }
            vec![]
        }
        Msg::ConsoleOpened {
            req_id,
            profile: _,
            result,
        } => {
            let console = |f: &mut Flow| matches!(f, Flow::Console(r) if r.req_id == req_id);
            if state.flow.take_if(console).is_some() {
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
        Msg::Discovered { result, asked } => {
            on_discovered(state, result, asked);
            vec![]
        }
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
    match state.flow.as_mut() {
        Some(Flow::Code(m)) if m.submitted.is_none() => {
            for c in text.chars().filter(char::is_ascii_digit) {
                if m.code.len() < 6 {
                    m.code.push(c);
                }
            }
        }
        Some(Flow::Passphrase(m)) if m.submitted.is_none() => {
            for c in text.chars().filter(|c| !c.is_control()) {
                let _ = m.input.push(c);
            }
        }
        // A modal checking what was typed takes no more; the sign-in
        // modal takes nothing typed.
        Some(Flow::Code(_) | Flow::Passphrase(_) | Flow::SignIn(_)) => {}
        _ if state.rotate.is_some() => {}
        _ if state.list.filter().editing => {
            let mut t = state.list.filter().text.clone();
            t.extend(text.chars().filter(|c| !c.is_control()));
            set_filter_capped(state, t);
        }
        _ => {}
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
    match &state.flow {
        Some(Flow::Code(_)) => return on_mfa_key(state, key),
        Some(Flow::Passphrase(_)) => return on_passphrase_key(state, key, ctrl),
        Some(Flow::SignIn(_)) => return on_sign_in_key(state, key),
        _ if state.rotate.is_some() => return on_rotate_key(state, key),
        _ => {}
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
        KeyCode::Char('s') if state.has_sso() => {
            state.info("Listing the accounts and roles of IAM Identity Center…");
            return vec![Effect::Discover];
        }
        _ => {}
    }
    vec![]
}

/// A new listing of the Identity Center accounts: the list is rebuilt from
/// it, keeping the filter and the selected role (when still there).
fn on_discovered(
    state: &mut State,
    result: Result<Option<Box<crate::model::Model>>, String>,
    asked: bool,
) {
    let model = match result {
        Ok(Some(m)) => m,
        Ok(None) => {
            if asked {
                state.info("The IAM Identity Center account list is up to date");
            }
            return;
        }
        Err(e) if asked => return state.error(e),
        Err(e) => return state.warn(e),
    };
    let selected = state.selected().map(|r| r.profile.clone());
    let (text, editing) = (
        state.list.filter().text.clone(),
        state.list.filter().editing,
    );
    let index: std::collections::HashMap<&str, usize> = state
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let page = state.list_rows();
    let mut list = crate::app::list::RoleList::new(&model, &index, page);
    list.set_editing(editing);
    list.set_filter(text, page);
    if let Some(p) = selected {
        list.select(&p, page);
    }
    state.list = list;
    if asked {
        let roles = model
            .profiles
            .iter()
            .filter(|p| matches!(p.kind, crate::model::ProfileKind::Sso { .. }))
            .count();
        state.info(format!(
            "Listed the IAM Identity Center accounts: {roles} roles"
        ));
    }
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
    state.rotate = Some(RotateModal {
        profile,
        source,
        age,
    });
}

fn on_rotate_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Char('y' | 'Y') => {
            let Some(m) = state.rotate.take() else {
                return vec![];
            };
            state.info(format!("Rotating the access key of source {}…", m.source));
            vec![Effect::RotateKey { source: m.source }]
        }
        KeyCode::Char('n' | 'N') | KeyCode::Esc => {
            state.rotate = None;
            state.info("Rotation cancelled");
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

/// Ends the flow at the user's word (its secrets are zeroized as it
/// drops); a request it submitted is abandoned, so its answer will be stale.
fn cancel_flow(state: &mut State, what: &str) {
    state.flow = None;
    state.info(format!("{what} cancelled"));
}

/// The engine started an Identity Center sign-in for the request in
/// flight: its modal opens (or shows the new code, after a 401 made the
/// engine sign in again). For any other request it is stale.
fn on_sign_in_started(
    state: &mut State,
    req_id: u64,
    user_code: String,
    uri: String,
    expires_at: SystemTime,
) {
    let waiting = |f: &mut Flow| {
        matches!(f, Flow::Fetching(_) | Flow::SignIn(_)) && f.request() == Some(req_id)
    };
    let Some(flow) = state.flow.take_if(waiting) else {
        return;
    };
    let profile = flow.profile().to_string();
    let source = state
        .list
        .row_of(&profile)
        .map(|r| state.sources[state.list.rows()[r].source].name.clone())
        .unwrap_or_default();
    let step = Flow::SignIn(SignInStep {
        req_id,
        profile,
        source,
        intent: flow.intent(),
        refresh: flow.refresh(),
        user_code,
        uri,
        expires_at,
    });
    ask(state, step);
}

/// Keys in the sign-in modal: only `Esc`, which closes it and stops the
/// engine's wait; the approval happens in the browser.
fn on_sign_in_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Flow::SignIn(step)) = &state.flow else {
        return vec![];
    };
    if key.code != KeyCode::Esc {
        return vec![];
    }
    let req_id = step.req_id;
    cancel_flow(state, "Sign-in");
    vec![Effect::CancelRequest { req_id }]
}

fn on_mfa_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Flow::Code(step)) = state.flow.as_mut() else {
        return vec![];
    };
    match key.code {
        KeyCode::Esc => cancel_flow(state, "MFA"),
        _ if step.submitted.is_some() => {}
        KeyCode::Char(c) if c.is_ascii_digit() && step.code.len() < 6 => step.code.push(c),
        KeyCode::Backspace => {
            step.code.pop();
        }
        KeyCode::Enter if step.code.len() == 6 => {
            let req_id = new_request(state);
            let Some(Flow::Code(step)) = state.flow.as_mut() else {
                return vec![];
            };
            step.submitted = Some(req_id);
            step.error = None;
            return vec![Effect::FetchCredentials {
                req_id,
                profile: step.profile.clone(),
                mfa_code: Some(step.code.clone()),
                passphrase: step.passphrase.clone(),
                refresh: step.refresh,
            }];
        }
        KeyCode::Enter => {
            step.error = Some(format!(
                "An MFA code has 6 digits; {} typed",
                step.code.len()
            ));
        }
        _ => {}
    }
    vec![]
}

fn on_passphrase_key(state: &mut State, key: KeyEvent, ctrl: bool) -> Vec<Effect> {
    let Some(Flow::Passphrase(step)) = state.flow.as_mut() else {
        return vec![];
    };
    match key.code {
        KeyCode::Esc => cancel_flow(state, "Unlocking the vault"),
        _ if step.submitted.is_some() => {}
        KeyCode::Backspace => step.input.pop(),
        KeyCode::Char('u') if ctrl => step.input.clear(),
        KeyCode::Char(c) if !ctrl && !c.is_control() => {
            // Past the capacity the key is ignored, like a seventh MFA digit.
            let _ = step.input.push(c);
        }
        KeyCode::Enter if !step.input.is_empty() => {
            let (profile, refresh) = (step.profile.clone(), step.refresh);
            let code_next = state
                .list
                .row_of(&profile)
                .is_some_and(|r| needs_code(state, r, refresh));
            let req_id = new_request(state);
            let Some(Flow::Passphrase(step)) = state.flow.as_mut() else {
                return vec![];
            };
            step.submitted = Some(req_id);
            step.error = None;
            let passphrase = step.input.clone();
            return vec![if code_next {
                // Try it now, so that a typo is caught here and not after
                // the user has also typed an MFA code.
                Effect::CheckPassphrase { req_id, passphrase }
            } else {
                Effect::FetchCredentials {
                    req_id,
                    profile,
                    mfa_code: None,
                    passphrase: Some(passphrase),
                    refresh,
                }
            }];
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

/// Opens a modal step of the flow, over anything else.
fn ask(state: &mut State, step: Flow) {
    state.rotate = None;
    state.flow = Some(step);
}

/// The flow's step that asks the MFA code for the row.
fn ask_code(
    state: &mut State,
    row: usize,
    refresh: Refresh,
    intent: Intent,
    passphrase: Option<SecretString>,
) {
    let r = &state.list.rows()[row];
    let step = Flow::Code(CodeStep {
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
    });
    ask(state, step);
}

/// The flow's step that asks the vault passphrase for the row.
fn ask_passphrase(
    state: &mut State,
    row: usize,
    vault: PathBuf,
    refresh: Refresh,
    intent: Intent,
    error: Option<String>,
) {
    let r = &state.list.rows()[row];
    let step = Flow::Passphrase(PassphraseStep {
        profile: r.profile.clone(),
        source: state.sources[r.source].name.clone(),
        vault,
        input: SecretString::with_capacity(PASSPHRASE_CAPACITY),
        error,
        refresh,
        intent,
        submitted: None,
    });
    ask(state, step);
}

/// Starts the flow for the row: asks for what the user must type (vault
/// passphrase, then MFA code), or fetches straight away when nothing is needed.
fn begin(state: &mut State, row: usize, refresh: Refresh, intent: Intent) -> Vec<Effect> {
    if let Some(vault) = needs_passphrase(state, row, refresh) {
        ask_passphrase(state, row, vault, refresh, intent, None);
        return vec![];
    }
    if needs_code(state, row, refresh) {
        ask_code(state, row, refresh, intent, None);
        return vec![];
    }
    let profile = state.list.rows()[row].profile.clone();
    vec![fetch(state, profile, refresh, intent)]
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
    if state.flow.is_some() || state.rotate.is_some() || state.help {
        return vec![];
    }
    let Some(row) = profile.and_then(|p| state.list.row_of(p)) else {
        return vec![];
    };
    let effects = begin(state, row, Refresh::Session, Intent::Reauth);
    if let Some(Flow::Code(step)) = state.flow.as_mut() {
        step.note = Some(text);
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
        return vec![open_console(state, profile)];
    }
    begin(state, row, Refresh::IfNeeded, Intent::Console)
}

/// The flow's last step for `o`: the console for `profile`, whose
/// credentials are good.
fn open_console(state: &mut State, profile: String) -> Effect {
    let req_id = new_request(state);
    state.flow = Some(Flow::Console(Request {
        req_id,
        profile: profile.clone(),
        intent: Intent::Console,
        refresh: Refresh::IfNeeded,
    }));
    Effect::OpenConsole { req_id, profile }
}

fn reauth_selected(state: &mut State) -> Vec<Effect> {
    let Some(row) = state.list.selected_row() else {
        return vec![];
    };
    begin(state, row, Refresh::Session, Intent::Reauth)
}

/// A new request id; the status line gives way to the spinner.
fn new_request(state: &mut State) -> u64 {
    let req_id = state.next_req_id;
    state.next_req_id += 1;
    state.status = None;
    req_id
}

/// The flow's step that fetches with nothing typed (no modal).
fn fetch(state: &mut State, profile: String, refresh: Refresh, intent: Intent) -> Effect {
    let req_id = new_request(state);
    state.flow = Some(Flow::Fetching(Request {
        req_id,
        profile: profile.clone(),
        intent,
        refresh,
    }));
    Effect::FetchCredentials {
        req_id,
        profile,
        mfa_code: None,
        passphrase: None,
        refresh,
    }
}

fn on_passphrase_checked(
    state: &mut State,
    req_id: u64,
    result: Result<(), Failure>,
) -> Vec<Effect> {
    let tried = |f: &mut Flow| matches!(f, Flow::Passphrase(s) if s.submitted == Some(req_id));
    let Some(Flow::Passphrase(mut step)) = state.flow.take_if(tried) else {
        return vec![]; // stale: the modal was cancelled
    };
    match result {
        Ok(()) => {
            let Some(row) = state.list.row_of(&step.profile) else {
                return vec![];
            };
            ask_code(state, row, step.refresh, step.intent, Some(step.input));
            state.info("Vault unlocked");
        }
        Err(e) => {
            step.submitted = None;
            step.input.clear();
            step.error = Some(e.message.clone());
            state.flow = Some(Flow::Passphrase(step));
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
    let fetched = |f: &mut Flow| !matches!(f, Flow::Console(_)) && f.request() == Some(req_id);
    let Some(flow) = state.flow.take_if(fetched) else {
        return vec![]; // stale: the user moved on
    };
    let intent = flow.intent();
    let row = state.list.row_of(profile);
    let source = row.map(|r| state.sources[state.list.rows()[r].source].name.clone());
    match result {
        Ok(f) => {
            drop(flow); // zeroizes the passphrase it held
            state.role_expiry.insert(profile.to_string(), f.expires);
            if let (Some(se), Some(src)) = (f.session_expires, source.as_ref()) {
                state.session_expiry.insert(src.clone(), se);
            }
            let left = countdown(state.now, Some(f.expires))
                .map(|c| c.text)
                .unwrap_or_default();
            match intent {
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
                        return vec![open_console(state, profile.to_string())];
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
        Err(e) => on_failure(state, row, flow, e),
    }
    vec![]
}

/// A credential request failed. Whatever the user must type again is asked
/// in the right step, with the reason; anything else goes to the status line.
fn on_failure(state: &mut State, row: Option<usize>, flow: Flow, e: Failure) {
    let (refresh, intent) = (flow.refresh(), flow.intent());
    let Some(row) = row else {
        state.error(e.message);
        return;
    };
    match (e.kind, flow) {
        (FailureKind::PassphraseRejected, flow) => {
            let src = state.list.rows()[row].source;
            let vault = match flow {
                Flow::Passphrase(step) => Some(step.vault),
                _ => state.sources[src].vault.clone(),
            };
            match vault {
                Some(v) => {
                    ask_passphrase(state, row, v, refresh, intent, Some(e.message.clone()));
                }
                None => state.rotate = None,
            }
        }
        (FailureKind::PassphraseRequired { vault }, _) => {
            // The engine knows better than our guess: ask for the passphrase.
            let src = state.list.rows()[row].source;
            state.sources[src].vault = Some(vault.clone());
            ask_passphrase(state, row, vault, refresh, intent, None);
            state.info("The vault is locked: type its passphrase");
            return;
        }
        (FailureKind::MfaRequired, Flow::Passphrase(step)) => {
            ask_code(state, row, refresh, intent, Some(step.input));
        }
        (_, Flow::Code(mut step)) => {
            step.submitted = None;
            step.code.clear();
            step.error = Some(e.message.clone());
            state.flow = Some(Flow::Code(step));
        }
        // The passphrase was good; the failure is elsewhere (AWS refused):
        // asking for it again would mislead. The modal closes.
        (_, Flow::Passphrase(_)) => {}
        (FailureKind::MfaRequired, Flow::Fetching(_)) => {
            // The engine knows better than our guess: ask for a code.
            ask_code(state, row, refresh, intent, None);
        }
        // Nothing to ask again: the status line says what failed.
        (_, Flow::Fetching(_) | Flow::Console(_) | Flow::SignIn(_)) => {}
    }
    state.error(e.message);
}

#[cfg(test)]
mod tests;
