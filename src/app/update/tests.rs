//! Tests of `update`: keys, the filter, the passphrase → code → fetch flow,
//! rotation, notices and the console, all from a fixed clock.

use super::*;
use crate::app::fixture::{at, model, role, state, T0};
use crate::app::list::Line;
use crate::app::msg::{Failure, FailureKind};
use crate::app::state::{Modal, StatusKind};
use crate::model::ProfileKind;
use crossterm::event::{MouseButton, MouseEvent};
use std::collections::HashMap;

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    let mut out = vec![];
    for c in text.chars() {
        out.extend(update(s, ch(c)));
    }
    out
}

fn mfa(s: &State) -> &CodeStep {
    match s.modal() {
        Some(Modal::Mfa(m)) => m,
        other => panic!("expected the MFA modal, got {other:?}"),
    }
}

fn passphrase_modal(s: &State) -> &PassphraseStep {
    match s.modal() {
        Some(Modal::Passphrase(m)) => m,
        other => panic!("expected the passphrase modal, got {other:?}"),
    }
}

fn selected(s: &State) -> &str {
    &s.selected().unwrap().profile
}

/// The engine's answer to request `req_id`.
fn done(req_id: u64, profile: &str, result: Result<Fetched, Failure>) -> Msg {
    Msg::CredsDone {
        req_id,
        profile: profile.into(),
        result,
    }
}

fn ok(expires: u64, session: Option<u64>) -> Result<Fetched, Failure> {
    Ok(Fetched {
        expires: at(expires),
        session_expires: session.map(at),
    })
}

#[test]
fn starts_on_the_first_role_with_account_headers_between_groups() {
    let s = state();
    assert_eq!(selected(&s), "dev-admin");
    assert_eq!(s.list.lines()[0], Line::Header(0));
    assert_eq!(s.list.lines().len(), 5 + 3);
}

#[test]
fn arrows_and_jk_move_and_skip_headers() {
    let mut s = state();
    update(&mut s, key(KeyCode::Down));
    assert_eq!(selected(&s), "dev-read");
    update(&mut s, ch('j'));
    assert_eq!(selected(&s), "prod-admin");
    update(&mut s, ch('k'));
    update(&mut s, key(KeyCode::Up));
    assert_eq!(selected(&s), "dev-admin");
    update(&mut s, key(KeyCode::Up));
    assert_eq!(selected(&s), "dev-admin", "stops at the top");
}

#[test]
fn g_and_shift_g_home_end_jump_to_the_ends() {
    let mut s = state();
    update(&mut s, ch('G'));
    assert_eq!(selected(&s), "ops-deploy");
    update(&mut s, ch('g'));
    assert_eq!(selected(&s), "dev-admin");
    update(&mut s, key(KeyCode::End));
    assert_eq!(selected(&s), "ops-deploy");
    update(&mut s, key(KeyCode::Home));
    assert_eq!(selected(&s), "dev-admin");
}

#[test]
fn page_keys_move_by_a_screen_and_scroll_follows() {
    let mut m = model();
    for i in 0..100 {
        m.profiles.push(role(
            &format!("x{i:03}"),
            "alice",
            "444444444444",
            "x",
            &format!("R{i}"),
        ));
    }
    let mut s = State::new(&m, HashMap::new(), HashMap::new(), at(T0));
    update(
        &mut s,
        Msg::Resize {
            width: 80,
            height: 20,
        },
    );
    let page = s.list_rows();
    update(&mut s, key(KeyCode::PageDown));
    let cur = s.list.cursor().unwrap();
    assert!(cur >= page, "moved a page: {cur}");
    assert!(
        s.list.scroll() <= cur && cur < s.list.scroll() + page,
        "cursor visible"
    );
    update(&mut s, key(KeyCode::End));
    assert_eq!(s.list.scroll(), s.list.lines().len() - page);
    update(&mut s, key(KeyCode::PageUp));
    assert!(s.list.cursor().unwrap() >= s.list.scroll());
}

#[test]
fn mouse_wheel_moves_the_cursor() {
    let mut s = state();
    let wheel = |kind| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 1,
            row: 1,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(&mut s, wheel(MouseEventKind::ScrollDown));
    assert_eq!(selected(&s), "prod-read");
    update(&mut s, wheel(MouseEventKind::ScrollUp));
    assert_eq!(selected(&s), "dev-admin");
    update(&mut s, wheel(MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(selected(&s), "dev-admin");
}

#[test]
fn filter_narrows_as_you_type_and_selects_the_best_match() {
    let mut s = state();
    update(&mut s, ch('/'));
    assert!(s.list.filter().editing);
    typed(&mut s, "prodread");
    assert_eq!(selected(&s), "prod-read");
    assert!(s.list.lines().iter().all(|l| match l {
        Line::Role(r) => s.list.rows()[*r].profile.starts_with("prod"),
        Line::Header(g) => s.list.groups()[*g].name.as_deref() == Some("prod"),
    }));
}

#[test]
fn filter_matches_account_id_and_tags() {
    let mut s = state();
    update(&mut s, ch('/'));
    typed(&mut s, "3333");
    assert_eq!(selected(&s), "ops-deploy");
    update(&mut s, key(KeyCode::Esc));
    update(&mut s, ch('/'));
    typed(&mut s, "env:prod");
    assert_eq!(selected(&s), "prod-admin");
}

#[test]
fn filter_matches_the_account_group() {
    let mut m = model();
    m.profiles[4].account.group = Some("automation".into());
    let mut s = State::new(&m, HashMap::new(), HashMap::new(), at(T0));
    update(&mut s, ch('/'));
    typed(&mut s, "automation");
    assert_eq!(selected(&s), "ops-deploy");
    assert_eq!(s.list.lines().len(), 2);
}

#[test]
fn filter_keys_are_text_not_commands() {
    let mut s = state();
    update(&mut s, ch('/'));
    let fx = typed(&mut s, "qjk?r");
    assert!(fx.is_empty(), "q does not quit while typing a filter");
    assert_eq!(s.list.filter().text, "qjk?r");
    assert!(!s.help);
}

#[test]
fn a_paste_goes_into_the_filter_in_one_piece() {
    let mut s = state();
    update(&mut s, ch('/'));
    let fx = update(&mut s, Msg::Paste("prod\nread\u{1b}".into()));
    assert!(fx.is_empty());
    assert_eq!(
        s.list.filter().text,
        "prodread",
        "one line, no control characters"
    );
    assert_eq!(selected(&s), "prod-read");
    assert!(s.status.is_none(), "nothing was cut");
}

#[test]
fn a_long_paste_is_capped_with_a_note_and_keys_still_work() {
    let mut s = state();
    update(&mut s, ch('/'));
    update(&mut s, Msg::Paste("x".repeat(5000)));
    assert_eq!(s.list.filter().text.chars().count(), FILTER_MAX);
    let note = s.status.as_ref().expect("a note");
    assert_eq!(note.kind, StatusKind::Warning);
    assert!(note.text.contains("first 200 characters"), "{}", note.text);
    // The same paste as keys (no bracketed paste): the same cap.
    typed(&mut s, "yyy");
    assert_eq!(s.list.filter().text.chars().count(), FILTER_MAX);
    update(&mut s, key(KeyCode::Esc));
    assert!(s.list.filter().text.is_empty() && !s.list.filter().editing);
}

#[test]
fn a_paste_into_the_mfa_modal_keeps_its_digits() {
    let mut s = state();
    update(&mut s, key(KeyCode::Enter));
    assert!(matches!(s.modal(), Some(Modal::Mfa(_))));
    update(&mut s, Msg::Paste(" 123 456\n".into()));
    let Some(Modal::Mfa(m)) = s.modal() else {
        panic!("the MFA modal")
    };
    assert_eq!(m.code, "123456");
}

#[test]
fn warnings_written_meanwhile_go_to_the_status_line() {
    let mut s = state();
    update(
        &mut s,
        Msg::Diag(vec![
            "warning: first".into(),
            "warning: waiting for another rolepick".into(),
        ]),
    );
    let st = s.status.as_ref().expect("a status");
    assert_eq!(st.kind, StatusKind::Warning);
    assert_eq!(st.text, "warning: waiting for another rolepick (+1 more)");
    assert!(update(&mut s, Msg::Suspend).is_empty(), "the runtime's job");
}

#[test]
fn backspace_widens_the_filter() {
    let mut s = state();
    update(&mut s, ch('/'));
    typed(&mut s, "deployz");
    assert!(s.selected().is_none(), "nothing matches");
    update(&mut s, key(KeyCode::Backspace));
    assert_eq!(selected(&s), "ops-deploy");
}

#[test]
fn esc_clears_the_filter_and_keeps_the_selection() {
    let mut s = state();
    update(&mut s, ch('/'));
    typed(&mut s, "prodread");
    update(&mut s, key(KeyCode::Esc));
    assert!(!s.list.filter().editing);
    assert!(s.list.filter().text.is_empty());
    assert_eq!(s.list.lines().len(), 8);
    assert_eq!(selected(&s), "prod-read");
}

#[test]
fn esc_never_quits() {
    let mut s = state();
    for _ in 0..3 {
        assert!(update(&mut s, key(KeyCode::Esc)).is_empty());
    }
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut s = state();
    assert_eq!(update(&mut s, ch('q')), vec![Effect::Quit]);
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(update(&mut s, ctrl_c.clone()), vec![Effect::Quit]);
    update(&mut s, key(KeyCode::Enter)); // modal open
    assert!(s.modal().is_some());
    assert_eq!(update(&mut s, ctrl_c), vec![Effect::Quit]);
}

#[test]
fn help_overlay_opens_with_question_mark_and_closes_with_esc() {
    let mut s = state();
    update(&mut s, ch('?'));
    assert!(s.help);
    assert!(update(&mut s, ch('j')).is_empty());
    assert_eq!(
        selected(&s),
        "dev-admin",
        "keys do not leak through the overlay"
    );
    update(&mut s, key(KeyCode::Esc));
    assert!(!s.help);
}

#[test]
fn enter_with_valid_cached_creds_opens_a_shell() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 3600));
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::OpenShell {
            profile: "dev-admin".into()
        }]
    );
}

#[test]
fn enter_with_creds_inside_the_refresh_margin_does_not_reuse_them() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 60));
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials {
            mfa_code: None,
            passphrase: None,
            refresh: Refresh::IfNeeded,
            ..
        }]
    ));
}

#[test]
fn enter_with_a_valid_session_fetches_without_a_code() {
    let mut s = state();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "dev-admin".into(),
            mfa_code: None,
            passphrase: None,
            refresh: Refresh::IfNeeded
        }]
    );
    assert!(s.modal().is_none());
    assert!(s.pending().is_some(), "spinner shows");
}

#[test]
fn enter_without_a_session_opens_the_mfa_modal_then_the_shell() {
    let mut s = state();
    assert!(update(&mut s, key(KeyCode::Enter)).is_empty());
    let m = mfa(&s);
    assert_eq!(m.source, "alice");
    assert_eq!(m.serial, "arn:aws:iam::000000000000:mfa/alice");
    assert!(
        typed(&mut s, "12a3456789").is_empty(),
        "letters ignored, max 6"
    );
    assert_eq!(mfa(&s).code, "123456");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "dev-admin".into(),
            mfa_code: Some("123456".into()),
            passphrase: None,
            refresh: Refresh::IfNeeded
        }]
    );
    let fx = update(
        &mut s,
        done(1, "dev-admin", ok(T0 + 3600, Some(T0 + 43200))),
    );
    assert_eq!(
        fx,
        vec![Effect::OpenShell {
            profile: "dev-admin".into()
        }]
    );
    assert!(s.modal().is_none());
    assert!(s.pending().is_none());
    assert_eq!(s.role_expiry["dev-admin"], at(T0 + 3600));
    assert_eq!(s.session_expiry["alice"], at(T0 + 43200));
}

#[test]
fn modal_enter_needs_six_digits_and_backspace_edits() {
    let mut s = state();
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "12345");
    assert!(update(&mut s, key(KeyCode::Enter)).is_empty());
    update(&mut s, key(KeyCode::Backspace));
    assert_eq!(mfa(&s).code, "1234");
}

#[test]
fn rejected_code_shows_the_reason_in_the_modal_and_allows_retry() {
    let mut s = state();
    update(&mut s, ch('j'));
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "111111");
    update(&mut s, key(KeyCode::Enter));
    assert!(
        typed(&mut s, "2").is_empty(),
        "no typing while the code is checked"
    );
    let fx = update(
        &mut s,
        Msg::CredsDone {
            req_id: 1,
            profile: "dev-read".into(),
            result: Err(Failure {
                kind: FailureKind::MfaRejected,
                message: "MFA code rejected for alice: wrong or already used".into(),
            }),
        },
    );
    assert!(fx.is_empty());
    let m = mfa(&s);
    assert_eq!(
        m.error.as_deref(),
        Some("MFA code rejected for alice: wrong or already used")
    );
    assert!(m.code.is_empty());
    assert_eq!(selected(&s), "dev-read", "place kept");
    typed(&mut s, "222222");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials { req_id: 2, .. }]
    ));
    assert_eq!(mfa(&s).error, None);
}

#[test]
fn esc_cancels_the_modal_and_drops_its_answer() {
    let mut s = state();
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "123456");
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, key(KeyCode::Esc));
    assert!(s.modal().is_none());
    let fx = update(&mut s, done(1, "dev-admin", ok(T0 + 3600, None)));
    assert!(fx.is_empty(), "no shell after cancel");
}

#[test]
fn stale_responses_are_dropped() {
    let mut s = state();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    update(&mut s, key(KeyCode::Enter)); // req 1 for dev-admin
    update(&mut s, ch('j'));
    update(&mut s, key(KeyCode::Enter)); // req 2 for dev-read
    let fx = update(&mut s, done(1, "dev-admin", ok(T0 + 3600, None)));
    assert!(fx.is_empty());
    assert!(!s.role_expiry.contains_key("dev-admin"));
    assert_eq!(s.pending().unwrap().req_id, 2);
    let fx = update(&mut s, done(2, "dev-read", ok(T0 + 3600, None)));
    assert_eq!(
        fx,
        vec![Effect::OpenShell {
            profile: "dev-read".into()
        }]
    );
}

#[test]
fn mfa_process_sources_skip_the_modal() {
    let mut s = state();
    update(&mut s, ch('G'));
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(s.modal().is_none());
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials { mfa_code: None, .. }]
    ));
}

#[test]
fn r_reauthenticates_with_a_new_session_even_when_creds_are_valid() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 3600));
    s.session_expiry.insert("alice".into(), at(T0 + 40000));
    assert!(update(&mut s, ch('r')).is_empty());
    assert_eq!(mfa(&s).refresh, Refresh::Session);
    typed(&mut s, "654321");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "dev-admin".into(),
            mfa_code: Some("654321".into()),
            passphrase: None,
            refresh: Refresh::Session
        }]
    );
    let fx = update(
        &mut s,
        done(1, "dev-admin", ok(T0 + 3600, Some(T0 + 43200))),
    );
    assert!(fx.is_empty(), "r does not open a shell");
    assert!(s
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("Re-authenticated alice"));
}

#[test]
fn r_on_an_mfa_process_source_fetches_directly() {
    let mut s = state();
    update(&mut s, ch('G'));
    let fx = update(&mut s, ch('r'));
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials {
            refresh: Refresh::Session,
            mfa_code: None,
            ..
        }]
    ));
}

#[test]
fn engine_asking_for_a_code_opens_the_modal() {
    let mut s = state();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    update(&mut s, key(KeyCode::Enter));
    update(
        &mut s,
        Msg::CredsDone {
            req_id: 1,
            profile: "dev-admin".into(),
            result: Err(Failure {
                kind: FailureKind::MfaRequired,
                message: "an MFA code is needed".into(),
            }),
        },
    );
    assert_eq!(mfa(&s).profile, "dev-admin");
}

#[test]
fn errors_show_in_the_status_line() {
    let mut s = state();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    update(&mut s, key(KeyCode::Enter));
    update(
        &mut s,
        Msg::CredsDone {
            req_id: 1,
            profile: "dev-admin".into(),
            result: Err(Failure {
                kind: FailureKind::Other,
                message: "access denied assuming Admin".into(),
            }),
        },
    );
    let st = s.status.as_ref().unwrap();
    assert_eq!(st.kind, StatusKind::Error);
    assert_eq!(st.text, "access denied assuming Admin");
    assert!(s.pending().is_none());
}

#[test]
fn ticks_move_time_and_the_spinner_only() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 700));
    assert!(s.creds_valid("dev-admin"));
    assert!(update(&mut s, Msg::Tick { now: at(T0 + 500) }).is_empty());
    assert_eq!(s.now, at(T0 + 500));
    assert!(!s.creds_valid("dev-admin"), "inside the 5 min margin now");
    assert_eq!(s.spinner, 0, "no spinner when idle");
}

#[test]
fn expired_creds_are_never_handed_to_a_shell() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 - 1));
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::FetchCredentials { .. }]));
    // A fetch that somehow returns dead creds does not open a shell either.
    let fx = update(&mut s, done(1, "dev-admin", ok(T0 - 5, None)));
    assert!(fx.is_empty());
}

#[test]
fn a_clock_jump_after_suspend_shows_expired() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 3600));
    update(
        &mut s,
        Msg::Tick {
            now: at(T0 + 8 * 3600),
        },
    );
    assert!(!s.creds_valid("dev-admin"));
    let c = countdown(s.now, s.role_expiry.get("dev-admin").copied()).unwrap();
    assert_eq!(c.text, "expired");
}

#[test]
fn shell_exit_is_reported() {
    let mut s = state();
    update(
        &mut s,
        Msg::ShellExited {
            profile: "dev-admin".into(),
            result: Ok(3),
        },
    );
    assert_eq!(
        s.status.as_ref().unwrap().text,
        "Back from dev-admin (exit status 3)"
    );
}

#[test]
fn filter_enter_opens_the_highlighted_role() {
    let mut s = state();
    s.role_expiry.insert("prod-read".into(), at(T0 + 3600));
    update(&mut s, ch('/'));
    typed(&mut s, "prodread");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::OpenShell {
            profile: "prod-read".into()
        }]
    );
    assert!(!s.list.filter().editing, "q quits again after the shell");
    assert_eq!(s.list.filter().text, "prodread", "the filter stays");
    update(&mut s, ch('/'));
    typed(&mut s, "x");
    assert_eq!(s.list.filter().text, "prodreadx", "/ edits the same filter");
}

const VAULT: &str = "/home/u/.local/share/rolepick/vault.age";

/// The state with alice's (and robot's) key in a locked vault.
fn locked() -> State {
    let mut s = state();
    for src in &mut s.sources {
        src.vault = Some(VAULT.into());
    }
    s
}

fn secret(text: &str) -> Option<SecretString> {
    Some(SecretString::new(text.into()))
}

fn checked(s: &mut State, req_id: u64, result: Result<(), Failure>) -> Vec<Effect> {
    update(s, Msg::PassphraseChecked { req_id, result })
}

fn wrong_passphrase() -> Failure {
    Failure {
        kind: FailureKind::PassphraseRejected,
        message: format!("wrong passphrase for the vault {VAULT}; nothing was changed. Try again."),
    }
}

#[test]
fn a_locked_vault_asks_the_passphrase_then_the_code_then_fetches_with_both() {
    let mut s = locked();
    assert!(update(&mut s, key(KeyCode::Enter)).is_empty());
    let m = passphrase_modal(&s);
    assert_eq!(m.source, "alice");
    assert_eq!(m.profile, "dev-admin");
    assert_eq!(m.vault, PathBuf::from(VAULT));
    assert!(typed(&mut s, "open sesame").is_empty());
    assert_eq!(passphrase_modal(&s).input.chars(), 11);
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::CheckPassphrase {
            req_id: 1,
            passphrase: SecretString::new("open sesame".into())
        }]
    );
    assert!(s.pending().is_some(), "spinner while the vault is tried");
    assert!(typed(&mut s, "x").is_empty(), "no typing while it is tried");
    assert!(checked(&mut s, 1, Ok(())).is_empty());
    let m = mfa(&s);
    assert_eq!(m.source, "alice");
    assert_eq!(m.passphrase, secret("open sesame"));
    typed(&mut s, "123456");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 2,
            profile: "dev-admin".into(),
            mfa_code: Some("123456".into()),
            passphrase: secret("open sesame"),
            refresh: Refresh::IfNeeded
        }]
    );
    let fx = update(
        &mut s,
        done(2, "dev-admin", ok(T0 + 3600, Some(T0 + 43200))),
    );
    assert_eq!(
        fx,
        vec![Effect::OpenShell {
            profile: "dev-admin".into()
        }]
    );
    assert!(
        s.modal().is_none(),
        "the passphrase is dropped with the modal"
    );
}

#[test]
fn a_wrong_passphrase_is_explained_in_its_modal_and_can_be_retyped() {
    let mut s = locked();
    update(&mut s, ch('j'));
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "typo");
    update(&mut s, key(KeyCode::Enter));
    let fx = checked(&mut s, 1, Err(wrong_passphrase()));
    assert!(fx.is_empty());
    let m = passphrase_modal(&s);
    assert!(m.error.as_deref().unwrap().starts_with("wrong passphrase"));
    assert!(m.input.is_empty(), "cleared for the retry");
    assert_eq!(m.submitted, None);
    assert_eq!(selected(&s), "dev-read", "place kept");
    typed(&mut s, "right");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &fx[..],
        [Effect::CheckPassphrase { req_id: 2, .. }]
    ));
    assert_eq!(passphrase_modal(&s).error, None);
    checked(&mut s, 2, Ok(()));
    assert_eq!(mfa(&s).passphrase, secret("right"));
}

#[test]
fn passphrase_modal_edits_and_takes_any_character_as_text() {
    let mut s = locked();
    update(&mut s, key(KeyCode::Enter));
    assert!(
        update(&mut s, key(KeyCode::Enter)).is_empty(),
        "empty: nothing to try"
    );
    assert!(typed(&mut s, "q?/jk r").is_empty(), "q does not quit here");
    assert_eq!(passphrase_modal(&s).input.expose(), "q?/jk r");
    update(&mut s, key(KeyCode::Backspace));
    assert_eq!(passphrase_modal(&s).input.expose(), "q?/jk ");
    let ctrl_u = Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    update(&mut s, ctrl_u);
    assert!(passphrase_modal(&s).input.is_empty());
}

#[test]
fn esc_cancels_the_passphrase_modal_and_drops_the_answer() {
    let mut s = locked();
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "secret");
    update(&mut s, key(KeyCode::Enter));
    assert!(
        update(&mut s, key(KeyCode::Esc)).is_empty(),
        "Esc never quits"
    );
    assert!(s.modal().is_none());
    assert!(s.pending().is_none());
    assert!(checked(&mut s, 1, Ok(())).is_empty());
    assert!(s.modal().is_none(), "a late answer opens nothing");
}

#[test]
fn a_valid_session_needs_no_passphrase() {
    let mut s = locked();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials {
            mfa_code: None,
            passphrase: None,
            ..
        }]
    ));
    assert!(s.modal().is_none());
}

#[test]
fn r_asks_the_passphrase_even_with_a_valid_session() {
    let mut s = locked();
    s.session_expiry.insert("alice".into(), at(T0 + 40000));
    s.role_expiry.insert("dev-admin".into(), at(T0 + 3600));
    update(&mut s, ch('r'));
    let m = passphrase_modal(&s);
    assert_eq!((m.refresh, m.intent), (Refresh::Session, Intent::Reauth));
    typed(&mut s, "pw");
    update(&mut s, key(KeyCode::Enter));
    checked(&mut s, 1, Ok(()));
    assert_eq!(mfa(&s).refresh, Refresh::Session);
    typed(&mut s, "654321");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials {
            refresh: Refresh::Session,
            passphrase: Some(_),
            ..
        }]
    ));
}

#[test]
fn without_a_code_to_ask_the_passphrase_goes_straight_into_the_fetch() {
    let mut s = locked();
    update(&mut s, ch('G')); // robot: mfa_process
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "pw");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "ops-deploy".into(),
            mfa_code: None,
            passphrase: secret("pw"),
            refresh: Refresh::IfNeeded
        }]
    );
    // A wrong one comes back from the fetch: same modal, same retry.
    update(&mut s, done(1, "ops-deploy", Err(wrong_passphrase())));
    let m = passphrase_modal(&s);
    assert!(m.error.is_some());
    assert!(m.input.is_empty());
    typed(&mut s, "pw2");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials { req_id: 2, .. }]
    ));
    let fx = update(&mut s, done(2, "ops-deploy", ok(T0 + 3600, None)));
    assert!(matches!(&fx[..], [Effect::OpenShell { .. }]));
    assert!(s.modal().is_none());
}

#[test]
fn a_rejected_code_keeps_the_unlocked_passphrase_for_the_retry() {
    let mut s = locked();
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "pw");
    update(&mut s, key(KeyCode::Enter));
    checked(&mut s, 1, Ok(()));
    typed(&mut s, "111111");
    update(&mut s, key(KeyCode::Enter));
    update(
        &mut s,
        Msg::CredsDone {
            req_id: 2,
            profile: "dev-admin".into(),
            result: Err(Failure {
                kind: FailureKind::MfaRejected,
                message: "MFA code rejected".into(),
            }),
        },
    );
    assert_eq!(mfa(&s).error.as_deref(), Some("MFA code rejected"));
    typed(&mut s, "222222");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &fx[..],
        [Effect::FetchCredentials { passphrase: Some(p), .. }] if p.expose() == "pw"
    ));
}

#[test]
fn engine_asking_for_the_passphrase_opens_its_modal() {
    let mut s = state(); // the picker did not know about the vault
    s.session_expiry.insert("alice".into(), at(T0 - 1));
    update(&mut s, ch('G'));
    let fx = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::FetchCredentials { .. }]));
    update(
        &mut s,
        Msg::CredsDone {
            req_id: 1,
            profile: "ops-deploy".into(),
            result: Err(Failure {
                kind: FailureKind::PassphraseRequired {
                    vault: VAULT.into(),
                },
                message: "the vault is locked".into(),
            }),
        },
    );
    assert_eq!(passphrase_modal(&s).vault, PathBuf::from(VAULT));
    assert_eq!(s.sources[1].vault, Some(PathBuf::from(VAULT)), "remembered");
    assert_eq!(s.status.as_ref().unwrap().kind, StatusKind::Info);
}

#[test]
fn the_passphrase_never_shows_in_debug_output() {
    let mut s = locked();
    update(&mut s, key(KeyCode::Enter));
    typed(&mut s, "hunter2hunter2");
    let fx = update(&mut s, key(KeyCode::Enter));
    checked(&mut s, 1, Ok(()));
    typed(&mut s, "123456");
    let fx2 = update(&mut s, key(KeyCode::Enter));
    for shown in [format!("{s:?}"), format!("{fx:?}"), format!("{fx2:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[test]
fn expiries_say_which_sources_are_behind_a_locked_vault() {
    let mut s = state();
    let vaults = HashMap::from([("alice".to_string(), PathBuf::from(VAULT))]);
    update(
        &mut s,
        Msg::Expiries(crate::app::msg::Expiries {
            vaults,
            ..Default::default()
        }),
    );
    assert_eq!(s.sources[0].vault, Some(PathBuf::from(VAULT)));
    assert_eq!(s.sources[1].vault, None);
    update(&mut s, key(KeyCode::Enter));
    assert!(matches!(s.modal(), Some(Modal::Passphrase(_))));
}

/// `alice` (the first rows' source) with a key `days` old, per the vault index.
fn aged(days: i64) -> State {
    let mut s = state();
    update(
        &mut s,
        Msg::Expiries(crate::app::msg::Expiries {
            key_ages: HashMap::from([("alice".to_string(), days), ("robot".to_string(), 3)]),
            ..Default::default()
        }),
    );
    s
}

fn rotate_modal(s: &State) -> &RotateModal {
    match s.modal() {
        Some(Modal::Rotate(m)) => m,
        other => panic!("expected the rotate confirmation, got {other:?}"),
    }
}

#[test]
fn key_ages_from_the_vault_index_reach_the_sources() {
    let s = aged(83);
    assert_eq!(s.sources[0].key_age, Some(83));
    assert_eq!(s.sources[1].key_age, Some(3));
    assert_eq!(
        crate::app::state::key_age_urgency(83),
        crate::app::state::Urgency::Soon
    );
    assert_eq!(
        crate::app::state::key_age_urgency(90),
        crate::app::state::Urgency::Critical
    );
    assert_eq!(
        crate::app::state::key_age_urgency(79),
        crate::app::state::Urgency::Fine
    );
}

#[test]
fn rotating_is_offered_only_from_90_days() {
    let mut s = aged(89);
    assert_eq!(s.rotate_offered(), None);
    assert!(update(&mut s, ch('R')).is_empty());
    assert!(s.modal().is_none(), "R does nothing below 90 days");

    let mut s = aged(90);
    assert_eq!(s.rotate_offered(), Some(("alice", 90)));
    assert!(update(&mut s, ch('R')).is_empty(), "R only asks");
    let m = rotate_modal(&s);
    assert_eq!((m.source.as_str(), m.age), ("alice", 90));
}

#[test]
fn rotating_is_offered_for_the_selected_roles_source_only() {
    let mut s = aged(120);
    update(&mut s, ch('G')); // ops-deploy, source robot (3 days)
    assert_eq!(selected(&s), "ops-deploy");
    assert_eq!(s.rotate_offered(), None);
    update(&mut s, ch('R'));
    assert!(s.modal().is_none());
}

#[test]
fn yes_in_the_rotate_confirmation_runs_the_rotation() {
    let mut s = aged(95);
    update(&mut s, ch('R'));
    let fx = update(&mut s, ch('y'));
    assert_eq!(
        fx,
        vec![Effect::RotateKey {
            source: "alice".into()
        }]
    );
    assert!(s.modal().is_none());
    assert!(s.status.as_ref().unwrap().text.contains("Rotating"));
}

#[test]
fn n_or_esc_cancels_the_rotation_and_other_keys_wait() {
    for cancel in [ch('n'), key(KeyCode::Esc)] {
        let mut s = aged(95);
        update(&mut s, ch('R'));
        assert!(update(&mut s, ch('q')).is_empty(), "q does not quit here");
        assert!(update(&mut s, key(KeyCode::Enter)).is_empty());
        rotate_modal(&s);
        assert!(update(&mut s, cancel).is_empty());
        assert!(s.modal().is_none());
        assert_eq!(s.status.as_ref().unwrap().text, "Rotation cancelled");
    }
}

#[test]
fn the_rotation_result_is_reported_and_new_ages_replace_the_old() {
    let mut s = aged(95);
    update(
        &mut s,
        Msg::Rotated {
            source: "alice".into(),
            result: Ok(0),
        },
    );
    assert_eq!(s.status.as_ref().unwrap().kind, StatusKind::Info);
    assert!(s.status.as_ref().unwrap().text.contains("Rotated"));
    update(
        &mut s,
        Msg::Rotated {
            source: "alice".into(),
            result: Ok(3),
        },
    );
    assert_eq!(s.status.as_ref().unwrap().kind, StatusKind::Error);
    assert!(s.status.as_ref().unwrap().text.contains("exit status 3"));
    let s2 = {
        let mut s = s;
        update(
            &mut s,
            Msg::Expiries(crate::app::msg::Expiries {
                key_ages: HashMap::from([("alice".to_string(), 0)]),
                ..Default::default()
            }),
        );
        s
    };
    assert_eq!(s2.sources[0].key_age, Some(0));
    assert_eq!(s2.rotate_offered(), None);
}

const RAN_OUT: &str = "the MFA session of source \"alice\" has run out, so profile \"prod-admin\" cannot be refreshed without a new MFA code.";

fn ran_out(s: &mut State, profile: &str) -> Vec<Effect> {
    update(
        s,
        Msg::ShellExited {
            profile: profile.into(),
            result: Ok(0),
        },
    );
    update(
        s,
        Msg::Notice {
            profile: Some(profile.into()),
            text: RAN_OUT.into(),
        },
    )
}

#[test]
fn a_session_that_ran_out_in_a_shell_opens_the_mfa_modal_with_the_notice() {
    let mut s = state();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    assert!(
        ran_out(&mut s, "prod-admin").is_empty(),
        "the modal asks first"
    );
    let m = mfa(&s);
    assert_eq!(m.profile, "prod-admin");
    assert_eq!(m.source, "alice");
    assert_eq!(m.note.as_deref(), Some(RAN_OUT));
    assert_eq!(m.error, None);
    assert_eq!(
        (m.refresh, m.intent),
        (Refresh::Session, Intent::Reauth),
        "the same flow as r: a new session even if one looks valid"
    );
    assert_eq!(s.status.as_ref().unwrap().kind, StatusKind::Error);
    typed(&mut s, "123456");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "prod-admin".into(),
            mfa_code: Some("123456".into()),
            passphrase: None,
            refresh: Refresh::Session,
        }]
    );
    update(
        &mut s,
        done(1, "prod-admin", ok(T0 + 3600, Some(T0 + 43200))),
    );
    assert!(s.modal().is_none());
    assert_eq!(s.session_expiry["alice"], at(T0 + 43200));
}

#[test]
fn esc_cancels_the_modal_a_notice_opened() {
    let mut s = state();
    ran_out(&mut s, "dev-read");
    assert!(mfa(&s).note.is_some());
    assert!(update(&mut s, key(KeyCode::Esc)).is_empty());
    assert!(s.modal().is_none());
    assert_eq!(s.status.as_ref().unwrap().text, "MFA cancelled");
}

#[test]
fn a_notice_for_an_mfa_process_source_reauthenticates_straight_away() {
    let mut s = state();
    let fx = ran_out(&mut s, "ops-deploy");
    assert!(s.modal().is_none());
    assert!(matches!(
        fx.as_slice(),
        [Effect::FetchCredentials {
            refresh: Refresh::Session,
            mfa_code: None,
            ..
        }]
    ));
}

#[test]
fn a_notice_without_a_known_role_only_shows_in_the_status_line() {
    let mut s = state();
    let fx = update(
        &mut s,
        Msg::Notice {
            profile: None,
            text: RAN_OUT.into(),
        },
    );
    assert!(fx.is_empty());
    assert!(s.modal().is_none());
    assert_eq!(s.status.as_ref().unwrap().text, RAN_OUT);
}

fn console_opened(req_id: u64, profile: &str, result: Result<&str, &str>) -> Msg {
    Msg::ConsoleOpened {
        req_id,
        profile: profile.into(),
        result: result.map(String::from).map_err(String::from),
    }
}

fn opens_console(req_id: u64, profile: &str) -> Vec<Effect> {
    vec![Effect::OpenConsole {
        req_id,
        profile: profile.into(),
    }]
}

#[test]
fn o_with_valid_cached_creds_opens_the_console_and_the_picker_stays() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 3600));
    assert_eq!(update(&mut s, ch('o')), opens_console(1, "dev-admin"));
    let p = s.pending().expect("the spinner shows");
    assert_eq!(p.intent, Intent::Console);
    assert!(s.modal().is_none());
    let fx = update(
        &mut s,
        console_opened(1, "dev-admin", Ok("Opened the AWS console for dev-admin")),
    );
    assert!(fx.is_empty(), "no shell, no quit: {fx:?}");
    assert!(s.pending().is_none());
    let st = s.status.as_ref().unwrap();
    assert_eq!(st.kind, StatusKind::Info);
    assert_eq!(st.text, "Opened the AWS console for dev-admin");
    assert_eq!(selected(&s), "dev-admin", "place kept");
}

#[test]
fn o_without_a_session_asks_for_the_code_then_opens_the_console() {
    let mut s = state();
    update(&mut s, ch('j'));
    assert!(update(&mut s, ch('o')).is_empty());
    let m = mfa(&s);
    assert_eq!((m.intent, m.refresh), (Intent::Console, Refresh::IfNeeded));
    typed(&mut s, "123456");
    assert_eq!(
        update(&mut s, key(KeyCode::Enter)),
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "dev-read".into(),
            mfa_code: Some("123456".into()),
            passphrase: None,
            refresh: Refresh::IfNeeded
        }]
    );
    let fx = update(&mut s, done(1, "dev-read", ok(T0 + 3600, Some(T0 + 43200))));
    assert_eq!(fx, opens_console(2, "dev-read"), "the console, not a shell");
    assert!(s.modal().is_none());
    assert_eq!(s.role_expiry["dev-read"], at(T0 + 3600));
    // The federation endpoint refused: said in the status line.
    update(
        &mut s,
        console_opened(2, "dev-read", Err("the AWS federation endpoint refused")),
    );
    let st = s.status.as_ref().unwrap();
    assert_eq!(st.kind, StatusKind::Error);
    assert_eq!(st.text, "the AWS federation endpoint refused");
    assert!(s.pending().is_none());
}

#[test]
fn o_with_a_valid_session_fetches_without_a_code_then_opens_the_console() {
    let mut s = state();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    // Cached credentials inside the refresh margin are not used.
    s.role_expiry.insert("dev-admin".into(), at(T0 + 60));
    let fx = update(&mut s, ch('o'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::FetchCredentials {
            req_id: 1,
            mfa_code: None,
            refresh: Refresh::IfNeeded,
            ..
        }]
    ));
    let fx = update(&mut s, done(1, "dev-admin", ok(T0 + 3600, None)));
    assert_eq!(fx, opens_console(2, "dev-admin"));
}

#[test]
fn o_on_a_session_profile_says_console_sign_in_needs_a_role() {
    let mut m = model();
    let mut own = role("alice-session", "alice", "000000000000", "home", "x");
    own.kind = ProfileKind::Session;
    m.profiles.push(own);
    let mut s = State::new(&m, HashMap::new(), HashMap::new(), at(T0));
    update(&mut s, ch('G'));
    assert_eq!(selected(&s), "alice-session");
    assert!(update(&mut s, ch('o')).is_empty());
    assert!(s.modal().is_none() && s.pending().is_none());
    let st = s.status.as_ref().unwrap();
    assert_eq!(st.kind, StatusKind::Error);
    assert!(st.text.contains("needs a role"), "{}", st.text);
    assert!(st.text.contains("alice-session"), "{}", st.text);
}

#[test]
fn a_console_answer_for_an_abandoned_request_is_dropped() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 3600));
    s.role_expiry.insert("dev-read".into(), at(T0 + 3600));
    update(&mut s, ch('o')); // req 1
    update(&mut s, ch('j'));
    update(&mut s, ch('o')); // req 2
    update(&mut s, console_opened(1, "dev-admin", Err("late failure")));
    assert!(s.status.is_none(), "{:?}", s.status);
    assert_eq!(s.pending().unwrap().req_id, 2);
    update(&mut s, console_opened(2, "dev-read", Ok("Opened")));
    assert_eq!(s.status.as_ref().unwrap().text, "Opened");
}

#[test]
fn o_is_filter_text_while_typing_a_filter() {
    let mut s = state();
    s.role_expiry.insert("dev-admin".into(), at(T0 + 3600));
    update(&mut s, ch('/'));
    assert!(update(&mut s, ch('o')).is_empty());
    assert_eq!(s.list.filter().text, "o");
}

#[test]
fn a_request_in_flight_is_abandoned_when_a_new_flow_asks_for_a_code() {
    let mut s = state();
    s.session_expiry.insert("alice".into(), at(T0 + 3600));
    update(&mut s, key(KeyCode::Enter)); // req 1: dev-admin, nothing to type
    assert!(update(&mut s, ch('r')).is_empty(), "r asks for a code");
    assert!(
        s.pending().is_none(),
        "one flow at a time: req 1 is abandoned"
    );
    let fx = update(&mut s, done(1, "dev-admin", ok(T0 + 3600, None)));
    assert!(fx.is_empty(), "no shell opens under the MFA modal: {fx:?}");
    assert_eq!(mfa(&s).intent, Intent::Reauth, "the modal stays");
}

// IAM Identity Center sign-in modal.

/// The picker with Identity Center role `sso-dev` (session `corp`) selected.
fn sso_state() -> State {
    let mut s = crate::app::fixture::state_of(&crate::app::fixture::model_with_sso());
    update(&mut s, ch('G'));
    assert_eq!(selected(&s), "sso-dev");
    s
}

const DEVICE_URL: &str = "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH";

fn sign_in_started(req_id: u64, expires: u64) -> Msg {
    Msg::SignInStarted {
        req_id,
        user_code: "ABCD-EFGH".into(),
        uri: DEVICE_URL.into(),
        expires_at: at(expires),
    }
}

fn sign_in_modal(s: &State) -> &SignInStep {
    match s.modal() {
        Some(Modal::SignIn(m)) => m,
        other => panic!("expected the sign-in modal, got {other:?}"),
    }
}

#[test]
fn enter_on_an_sso_role_fetches_without_asking_anything() {
    let mut s = sso_state();
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "sso-dev".into(),
            mfa_code: None,
            passphrase: None,
            refresh: Refresh::IfNeeded
        }]
    );
    assert!(s.modal().is_none(), "no modal until a sign-in starts");
}

#[test]
fn a_started_sign_in_opens_the_modal_counts_down_and_approval_opens_the_shell() {
    let mut s = sso_state();
    update(&mut s, key(KeyCode::Enter));
    assert!(update(&mut s, sign_in_started(1, T0 + 600)).is_empty());
    let m = sign_in_modal(&s);
    assert_eq!(
        (m.user_code.as_str(), m.uri.as_str(), m.source.as_str()),
        ("ABCD-EFGH", DEVICE_URL, "corp")
    );
    assert_eq!(m.profile, "sso-dev");
    assert_eq!(s.pending().unwrap().req_id, 1, "the spinner turns");
    let spinner = s.spinner;
    update(&mut s, Msg::Tick { now: at(T0 + 65) });
    assert_ne!(s.spinner, spinner);
    let left = countdown(s.now, Some(sign_in_modal(&s).expires_at)).unwrap();
    assert_eq!(left.text, "08:55");
    // Approved in the browser: the engine's answer comes as usual.
    let fx = update(&mut s, done(1, "sso-dev", ok(T0 + 3600, Some(T0 + 28800))));
    assert_eq!(
        fx,
        vec![Effect::OpenShell {
            profile: "sso-dev".into()
        }]
    );
    assert!(s.modal().is_none());
    assert_eq!(s.role_expiry["sso-dev"], at(T0 + 3600));
    assert_eq!(
        s.session_expiry["corp"],
        at(T0 + 28800),
        "the token's countdown"
    );
}

#[test]
fn esc_cancels_the_sign_in_stops_the_engine_and_drops_the_late_answer() {
    let mut s = sso_state();
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, sign_in_started(1, T0 + 600));
    let fx = update(&mut s, key(KeyCode::Esc));
    assert_eq!(fx, vec![Effect::CancelRequest { req_id: 1 }]);
    assert!(s.modal().is_none());
    assert!(s.pending().is_none());
    assert_eq!(s.status.as_ref().unwrap().text, "Sign-in cancelled");
    // The engine's answer, had it come anyway, is stale.
    assert!(update(&mut s, sign_in_started(1, T0 + 600)).is_empty());
    assert!(s.modal().is_none(), "no modal for a cancelled request");
    let fx = update(&mut s, done(1, "sso-dev", ok(T0 + 3600, None)));
    assert!(fx.is_empty(), "no shell after cancel");
    assert!(!s.role_expiry.contains_key("sso-dev"));
}

#[test]
fn other_keys_do_nothing_in_the_sign_in_modal() {
    let mut s = sso_state();
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, sign_in_started(1, T0 + 600));
    for k in [ch('q'), ch('r'), key(KeyCode::Enter), ch('j')] {
        assert!(update(&mut s, k).is_empty());
    }
    update(&mut s, Msg::Paste("/x".into()));
    assert_eq!(sign_in_modal(&s).req_id, 1);
    assert_eq!(s.list.filter().text, "");
}

#[test]
fn an_expired_sign_in_code_shows_expired_then_the_failure() {
    let mut s = sso_state();
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, sign_in_started(1, T0 + 600));
    update(&mut s, Msg::Tick { now: at(T0 + 601) });
    let left = countdown(s.now, Some(sign_in_modal(&s).expires_at)).unwrap();
    assert_eq!(left.text, "expired");
    let message = "IAM Identity Center session \"corp\": the sign-in code expired before it was approved; no token was saved.";
    let fx = update(
        &mut s,
        done(
            1,
            "sso-dev",
            Err(Failure {
                kind: FailureKind::Other,
                message: message.into(),
            }),
        ),
    );
    assert!(fx.is_empty());
    assert!(s.modal().is_none(), "the modal closes");
    let st = s.status.as_ref().unwrap();
    assert_eq!((st.kind, st.text.as_str()), (StatusKind::Error, message));
}

#[test]
fn r_on_an_sso_role_signs_in_again_and_opens_no_shell() {
    let mut s = sso_state();
    s.role_expiry.insert("sso-dev".into(), at(T0 + 3600));
    s.session_expiry.insert("corp".into(), at(T0 + 20000));
    let fx = update(&mut s, ch('r'));
    assert_eq!(
        fx,
        vec![Effect::FetchCredentials {
            req_id: 1,
            profile: "sso-dev".into(),
            mfa_code: None,
            passphrase: None,
            refresh: Refresh::Session
        }],
        "no MFA code or passphrase for an Identity Center role"
    );
    update(&mut s, sign_in_started(1, T0 + 600));
    assert_eq!(sign_in_modal(&s).intent, Intent::Reauth);
    let fx = update(&mut s, done(1, "sso-dev", ok(T0 + 3600, Some(T0 + 28800))));
    assert!(fx.is_empty(), "r does not open a shell");
    assert!(s.modal().is_none());
    assert!(s
        .status
        .as_ref()
        .unwrap()
        .text
        .starts_with("Re-authenticated corp"));
    assert_eq!(s.session_expiry["corp"], at(T0 + 28800));
}

#[test]
fn a_sign_in_for_a_request_not_in_flight_is_stale() {
    let mut s = sso_state();
    assert!(update(&mut s, sign_in_started(7, T0 + 600)).is_empty());
    assert!(s.modal().is_none());
    update(&mut s, key(KeyCode::Enter)); // request 1
    update(&mut s, sign_in_started(7, T0 + 600));
    assert!(s.modal().is_none());
    assert_eq!(s.pending().unwrap().req_id, 1);
}

// Identity Center discovery in the picker.

#[test]
fn s_lists_the_identity_center_accounts_only_with_a_session() {
    let mut s = state();
    assert!(
        update(&mut s, ch('s')).is_empty(),
        "no session: s does nothing"
    );
    let mut s = sso_state();
    assert_eq!(update(&mut s, ch('s')), vec![Effect::Discover]);
}

#[test]
fn a_new_listing_rebuilds_the_rows_keeping_the_filter_and_the_selected_role() {
    let mut s = sso_state();
    typed(&mut s, "/a");
    s.list.select("sso-dev", 10);
    let mut m = crate::app::fixture::model_with_sso();
    m.profiles.push(crate::app::fixture::sso_role(
        "account-0000/AdministratorAccess",
        "corp",
        "100000000000",
        "account-0000",
        "AdministratorAccess",
    ));
    update(
        &mut s,
        Msg::Discovered {
            result: Ok(Some(Box::new(m))),
            asked: true,
        },
    );
    assert!(s.list.row_of("account-0000/AdministratorAccess").is_some());
    assert_eq!(s.list.filter().text, "a");
    assert!(s.list.filter().editing);
    assert_eq!(selected(&s), "sso-dev");
    assert_eq!(
        s.status.as_ref().unwrap().text,
        "Listed the IAM Identity Center accounts: 2 roles"
    );
}

#[test]
fn a_failed_listing_is_an_error_when_asked_and_a_warning_in_the_background() {
    let mut s = sso_state();
    let failed = |asked| Msg::Discovered {
        result: Err("IAM Identity Center session \"corp\" has no usable token".into()),
        asked,
    };
    update(&mut s, failed(false));
    assert_eq!(s.status.as_ref().unwrap().kind, StatusKind::Warning);
    update(&mut s, failed(true));
    assert_eq!(s.status.as_ref().unwrap().kind, StatusKind::Error);
    assert_eq!(s.list.rows().len(), 6, "the rows stay");
}
