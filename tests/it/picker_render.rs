//! Snapshots of the picker drawn on ratatui's `TestBackend` (insta), from a
//! fixed clock: the main screen, the filter, the MFA modal (with an error),
//! the vault passphrase modal (masked; with an error), the help overlay, an
//! error in the status line, and tiny terminals.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use rolepick::app::msg::{Failure, FailureKind, Msg};
use rolepick::app::state::State;
use rolepick::app::update::update;
use rolepick::model::{Account, Model, Origin, Parent, Profile, ProfileKind, RoleSpec, Source};

const T0: u64 = 1_800_000_000;

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn origin() -> Origin {
    Origin {
        file: "config.toml".into(),
        line: 1,
    }
}

fn role(name: &str, src: &str, id: &str, acct: &str, role: &str, tags: &[&str]) -> Profile {
    Profile {
        name: name.into(),
        source: src.into(),
        region: Some("eu-west-1".into()),
        kind: ProfileKind::Role(RoleSpec {
            role_arn: format!("arn:aws:iam::{id}:role/{role}"),
            external_id: None,
            session_name: None,
            duration_seconds: None,
            parent: Parent::Source,
        }),
        account: Account {
            id: Some(id.into()),
            name: Some(acct.into()),
            group: (acct == "prod").then(|| "production".to_string()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        },
        mfa_serial: Some(format!("arn:aws:iam::000000000000:mfa/{src}")),
        origin: origin(),
    }
}

fn model() -> Model {
    let mut m = Model::default();
    for (name, process) in [("alice", false), ("robot", true)] {
        m.sources.insert(
            name.into(),
            Source::iam(
                name,
                rolepick::model::IamUser {
                    mfa_serial: Some(format!("arn:aws:iam::000000000000:mfa/{name}")),
                    mfa_process: process.then(|| "ykman oath accounts code -s aws".into()),
                    session_duration: Duration::from_secs(43200),
                    credentials_profile: name.into(),
                },
                None,
                origin(),
            ),
        );
    }
    m.profiles = vec![
        role(
            "dev-admin",
            "alice",
            "111111111111",
            "dev",
            "Admin",
            &["team:web"],
        ),
        role(
            "dev-read",
            "alice",
            "111111111111",
            "dev",
            "ReadOnly",
            &["team:web"],
        ),
        role(
            "prod-admin",
            "alice",
            "222222222222",
            "prod",
            "Admin",
            &["pci"],
        ),
        role(
            "prod-billing",
            "alice",
            "222222222222",
            "prod",
            "BillingViewer",
            &["pci"],
        ),
        role(
            "prod-read",
            "alice",
            "222222222222",
            "prod",
            "ReadOnly",
            &["pci"],
        ),
        role(
            "ops-deploy",
            "robot",
            "333333333333",
            "ops",
            "Deployer",
            &[],
        ),
    ];
    m
}

fn state() -> State {
    let roles = HashMap::from([
        ("dev-admin".to_string(), at(T0 + 59 * 60 + 12)),
        ("prod-admin".to_string(), at(T0 + 9 * 60 + 5)),
        ("prod-read".to_string(), at(T0 + 90)),
        ("dev-read".to_string(), at(T0 - 10)),
    ]);
    let sessions = HashMap::from([("alice".to_string(), at(T0 + 11 * 3600 + 58 * 60 + 3))]);
    State::new(&model(), roles, sessions, at(T0))
}

fn draw(state: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    update(
        state,
        Msg::Resize {
            width: w,
            height: h,
        },
    );
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| rolepick::ui::render(state, f)).unwrap();
    t
}

fn key(s: &mut State, code: KeyCode) {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        key(s, KeyCode::Char(c));
    }
}

#[test]
fn main_screen() {
    let mut s = state();
    insta::assert_snapshot!(draw(&mut s, 80, 20).backend());
}

#[test]
fn main_screen_at_the_minimum_size() {
    let mut s = state();
    key(&mut s, KeyCode::Char('G'));
    insta::assert_snapshot!(draw(&mut s, 60, 15).backend());
}

#[test]
fn filter_narrows_and_highlights() {
    let mut s = state();
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "prodbil");
    let t = draw(&mut s, 80, 20);
    insta::assert_snapshot!(t.backend());
    // The matched characters of "prod-billing" are highlighted (underlined).
    let buf = t.backend().buffer();
    let hl: String = buf
        .content()
        .iter()
        .filter(|c| c.modifier.contains(Modifier::UNDERLINED))
        .map(|c| c.symbol())
        .collect();
    assert_eq!(hl, "prodbil");
}

#[test]
fn mfa_modal() {
    let mut s2 = state();
    s2.session_expiry.clear();
    key(&mut s2, KeyCode::Char('j'));
    key(&mut s2, KeyCode::Enter);
    typed(&mut s2, "123");
    insta::assert_snapshot!(draw(&mut s2, 80, 20).backend());
}

#[test]
fn mfa_modal_with_a_rejected_code() {
    let mut s = state();
    s.session_expiry.clear();
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Enter);
    typed(&mut s, "123456");
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Msg::CredsDone {
            req_id: 1,
            profile: "dev-read".into(),
            result: Err(Failure {
                kind: FailureKind::MfaRejected,
                message: "MFA code rejected for source alice: it was wrong or already used. Wait for the next code and try again.".into(),
            }),
        },
    );
    insta::assert_snapshot!(draw(&mut s, 80, 20).backend());
}

const VAULT: &str = "/home/alice/.local/share/rolepick/vault.age";

/// Enter on dev-read with alice's key in a locked vault and no session.
fn passphrase_modal_state(passphrase: &str) -> State {
    let mut s = state();
    s.session_expiry.clear();
    s.sources[0].vault = Some(VAULT.into());
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Enter);
    typed(&mut s, passphrase);
    s
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    t.backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect()
}

#[test]
fn passphrase_modal_is_masked() {
    let mut s = passphrase_modal_state("hunter2 hunter2");
    let t = draw(&mut s, 80, 20);
    assert!(!screen_text(&t).contains("hunter"), "never drawn in clear");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn passphrase_modal_with_a_wrong_passphrase() {
    let mut s = passphrase_modal_state("typo");
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Msg::PassphraseChecked {
            req_id: 1,
            result: Err(Failure {
                kind: FailureKind::PassphraseRejected,
                message: format!(
                    "wrong passphrase for the vault {VAULT}; nothing was changed. Try again."
                ),
            }),
        },
    );
    insta::assert_snapshot!(draw(&mut s, 80, 20).backend());
}

#[test]
fn passphrase_modal_while_unlocking() {
    let mut s =
        passphrase_modal_state("a passphrase far longer than the box is wide, to see it cut off");
    key(&mut s, KeyCode::Enter);
    update(&mut s, Msg::Tick { now: at(T0 + 1) });
    let t = draw(&mut s, 80, 20);
    assert!(!screen_text(&t).contains("passphrase far"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn help_overlay() {
    let mut s = state();
    key(&mut s, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&mut s, 80, 20).backend());
}

#[test]
fn error_in_the_status_line() {
    let mut s = state();
    key(&mut s, KeyCode::Char('G'));
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Msg::CredsDone {
            req_id: 1,
            profile: "ops-deploy".into(),
            result: Err(Failure {
                kind: FailureKind::Other,
                message:
                    "access denied: robot cannot assume arn:aws:iam::333333333333:role/Deployer"
                        .into(),
            }),
        },
    );
    insta::assert_snapshot!(draw(&mut s, 80, 20).backend());
}

#[test]
fn spinner_while_a_request_is_in_flight() {
    let mut s = state();
    key(&mut s, KeyCode::Char('G'));
    key(&mut s, KeyCode::Enter);
    update(&mut s, Msg::Tick { now: at(T0 + 1) });
    insta::assert_snapshot!(draw(&mut s, 80, 20).backend());
}

#[test]
fn a_warning_while_a_request_is_in_flight_shows_beside_the_spinner() {
    let mut s = state();
    key(&mut s, KeyCode::Char('G'));
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Msg::Diag(vec![
            "warning: waiting for another rolepick to finish signing in source \"ops\"...".into(),
        ]),
    );
    let t = draw(&mut s, 80, 20);
    let text = screen_text(&t);
    assert!(
        text.contains("! warning: waiting for another rolepick"),
        "{text}"
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn tiny_terminal_says_too_small() {
    let mut s = state();
    insta::assert_snapshot!(draw(&mut s, 20, 5).backend());
}

#[test]
fn no_size_panics() {
    for w in 0..=70 {
        for h in 0..=17 {
            let mut s = state();
            key(&mut s, KeyCode::Char('?'));
            draw(&mut s, w, h);
            key(&mut s, KeyCode::Esc);
            s.session_expiry.clear();
            key(&mut s, KeyCode::Enter);
            draw(&mut s, w, h);
            let mut s = passphrase_modal_state("pw");
            draw(&mut s, w, h);
        }
    }
    let mut s = state();
    insta::assert_snapshot!(draw(&mut s, 1, 1).backend());
}

#[test]
fn no_color_uses_no_colours() {
    let mut s = state();
    s.color = false;
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "prod");
    let t = draw(&mut s, 80, 20);
    let buf = t.backend().buffer();
    assert!(buf
        .content()
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
}

/// alice's key is past the rotation age, robot's is in the warning band.
fn old_keys() -> State {
    let mut s = state();
    let (roles, sessions) = (s.role_expiry.clone(), s.session_expiry.clone());
    update(
        &mut s,
        Msg::Expiries(rolepick::app::msg::Expiries {
            roles,
            sessions,
            key_ages: HashMap::from([("alice".to_string(), 93), ("robot".to_string(), 83)]),
            ..Default::default()
        }),
    );
    s
}

fn colour_of(t: &Terminal<TestBackend>, text: &str) -> Option<Color> {
    let buf = t.backend().buffer();
    let w = buf.area.width;
    for y in 0..buf.area.height {
        let row: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
        if let Some(byte) = row.find(text) {
            let x = u16::try_from(row[..byte].chars().count()).unwrap();
            return Some(buf[(x, y)].fg);
        }
    }
    None
}

#[test]
fn header_shows_key_ages_with_warning_and_alert_colours() {
    let mut s = old_keys();
    let t = draw(&mut s, 100, 20);
    insta::assert_snapshot!(t.backend());
    assert_eq!(colour_of(&t, "key 93d"), Some(Color::Red));
    assert_eq!(colour_of(&t, "key 83d"), Some(Color::Yellow));
    let text = screen_text(&t);
    assert!(
        text.contains("R rotate key"),
        "offered in the footer:\n{text}"
    );
}

#[test]
fn header_shows_a_key_of_unknown_age_as_key_question_mark_never_0d() {
    let mut s = state();
    update(
        &mut s,
        Msg::Expiries(rolepick::app::msg::Expiries {
            key_ages: HashMap::from([("robot".to_string(), 3)]),
            unknown_key_ages: std::collections::HashSet::from(["alice".to_string()]),
            ..Default::default()
        }),
    );
    let t = draw(&mut s, 100, 20);
    let text = screen_text(&t);
    let alice = text
        .lines()
        .find(|l| l.contains("alice") && l.contains("key "))
        .unwrap_or_else(|| panic!("alice's line in the header:\n{text}"));
    assert!(alice.contains("key ?") && !alice.contains("0d"), "{alice}");
    assert!(text.contains("key 3d"), "{text}");
    assert!(
        !text.contains("R rotate key"),
        "no rotation offered:\n{text}"
    );
}

#[test]
fn rotate_confirmation_modal() {
    let mut s = old_keys();
    key(&mut s, KeyCode::Char('R'));
    insta::assert_snapshot!(draw(&mut s, 80, 20).backend());
}

#[test]
fn help_lists_r_only_when_the_key_is_old() {
    let mut s = old_keys();
    key(&mut s, KeyCode::Char('?'));
    assert!(screen_text(&draw(&mut s, 80, 24)).contains("rotate the source's access key"));
    let mut s = state();
    key(&mut s, KeyCode::Char('?'));
    assert!(!screen_text(&draw(&mut s, 80, 24)).contains("rotate the source"));
}

#[test]
fn mfa_modal_opened_by_a_session_that_ran_out() {
    let mut s = state();
    update(
        &mut s,
        Msg::Notice {
            profile: Some("dev-admin".into()),
            text: "the MFA session of source \"alice\" has run out, so profile \"dev-admin\" cannot be refreshed without a new MFA code.".into(),
        },
    );
    insta::assert_snapshot!(draw(&mut s, 80, 24).backend());
}

#[test]
fn o_shows_the_console_sign_in_in_the_status_line_then_its_outcome() {
    let mut s = state();
    // dev-admin's credentials are good: `o` goes straight to the console.
    key(&mut s, KeyCode::Char('o'));
    let text = screen_text(&draw(&mut s, 80, 20));
    assert!(
        text.contains("Signing in to the AWS console as dev-admin…"),
        "{text}"
    );
    update(
        &mut s,
        Msg::ConsoleOpened {
            req_id: 1,
            profile: "dev-admin".into(),
            result: Err("cannot reach the AWS federation endpoint".into()),
        },
    );
    let text = screen_text(&draw(&mut s, 80, 20));
    assert!(
        text.contains("✗ cannot reach the AWS federation endpoint"),
        "{text}"
    );
    assert!(text.contains("roles in 3 accounts"), "the picker stays");
}

#[test]
fn the_footer_keeps_help_and_quit_at_every_width() {
    for w in [60, 70, 80, 100] {
        let mut s = state();
        let t = draw(&mut s, w, 20);
        let footer: String = (0..w)
            .map(|x| t.backend().buffer()[(x, 19)].symbol().to_string())
            .collect();
        for hint in ["o console", "? help", "q quit"] {
            assert!(footer.contains(hint), "{w} columns: {hint:?} in {footer:?}");
        }
    }
}

// IAM Identity Center: the header with a session's token, the sign-in modal.

const DEVICE_URL: &str = "https://device.sso.eu-west-1.amazonaws.com/?user_code=WDQF-KXBN";

/// [`state`] plus Identity Center session `corp` (token good for 7h 30m)
/// with role `sso-dev` in account `sandbox`, selected; `sso-dev` has no
/// cached credentials unless `cached`.
fn sso_state(cached: bool) -> State {
    let mut m = model();
    m.sources.insert(
        "corp".into(),
        Source {
            name: "corp".into(),
            region: Some("eu-west-1".into()),
            origin: origin(),
            kind: rolepick::model::SourceKind::Sso(rolepick::model::SsoSession {
                cache_id: "corp".into(),
                start_url: "https://d-1234567890.awsapps.com/start".into(),
                region: "eu-west-1".into(),
                scopes: vec![],
            }),
        },
    );
    m.profiles.push(Profile {
        name: "sso-dev".into(),
        source: "corp".into(),
        region: Some("eu-west-1".into()),
        kind: ProfileKind::Sso {
            account_id: "444444444444".into(),
            role_name: "AdministratorAccess".into(),
        },
        account: Account {
            id: Some("444444444444".into()),
            name: Some("sandbox".into()),
            group: None,
            tags: vec![],
        },
        mfa_serial: None,
        origin: origin(),
    });
    let mut roles = HashMap::from([("dev-admin".to_string(), at(T0 + 59 * 60 + 12))]);
    if cached {
        roles.insert("sso-dev".into(), at(T0 + 45 * 60));
    }
    let sessions = HashMap::from([
        ("alice".to_string(), at(T0 + 11 * 3600 + 58 * 60 + 3)),
        ("corp".to_string(), at(T0 + 7 * 3600 + 30 * 60 + 20)),
    ]);
    let mut s = State::new(&m, roles, sessions, at(T0));
    key(&mut s, KeyCode::Char('G'));
    s
}

/// Enter on `sso-dev` with no token: the engine started a sign-in whose
/// code runs out in 10 minutes, 65 seconds ago.
fn sign_in_state() -> State {
    let mut s = sso_state(false);
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Msg::SignInStarted {
            req_id: 1,
            user_code: "WDQF-KXBN".into(),
            uri: DEVICE_URL.into(),
            expires_at: at(T0 + 600),
        },
    );
    update(&mut s, Msg::Tick { now: at(T0 + 65) });
    s
}

#[test]
fn header_shows_an_sso_session_with_its_token_countdown() {
    let mut s = sso_state(true);
    let t = draw(&mut s, 100, 20);
    insta::assert_snapshot!(t.backend());
    let text = screen_text(&t);
    assert!(text.contains("corp  SSO token 7h 30m"), "{text}");
    assert!(
        text.contains("45:00"),
        "the SSO role's own countdown:\n{text}"
    );
    assert!(
        text.contains("s sync"),
        "the sync key in the footer:\n{text}"
    );
}

#[test]
fn sign_in_modal() {
    let mut s = sign_in_state();
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!(t.backend());
    let text = screen_text(&t);
    for want in ["WDQF-KXBN", "08:55", "Esc cancel", "sso-dev", "▀"] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
}

#[test]
fn sign_in_modal_without_room_for_the_qr_code() {
    let mut s = sign_in_state();
    let t = draw(&mut s, 60, 15);
    insta::assert_snapshot!(t.backend());
    let text = screen_text(&t);
    assert!(text.contains("WDQF-KXBN"), "{text}");
    assert!(!text.contains('▀'), "no QR code squeezed in:\n{text}");
}

#[test]
fn sign_in_modal_at_every_small_size_does_not_panic() {
    let mut s = sign_in_state();
    for (w, h) in [(20, 5), (60, 15), (79, 19), (80, 20), (120, 40)] {
        draw(&mut s, w, h);
    }
}

#[test]
fn help_lists_the_identity_center_keys_only_with_a_session() {
    let mut s = sso_state(true);
    key(&mut s, KeyCode::Char('?'));
    let text = screen_text(&draw(&mut s, 80, 24));
    assert!(
        text.contains("list the Identity Center accounts again"),
        "{text}"
    );
    let mut s = state();
    key(&mut s, KeyCode::Char('?'));
    assert!(!screen_text(&draw(&mut s, 80, 24)).contains("Identity Center"));
}

// Issue #25: the friction a new user hit in the picker's modals.

/// The screen's lines, trailing spaces trimmed.
fn screen_lines(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            let line: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.trim_end().to_string()
        })
        .collect()
}

/// The words inside a box's borders (`│ … │`), row after row.
fn boxed_words(t: &Terminal<TestBackend>) -> String {
    let mut words = Vec::new();
    for l in screen_lines(t) {
        let (Some(a), Some(b)) = (l.find('│'), l.rfind('│')) else {
            continue;
        };
        if a < b {
            words.extend(
                l[a + '│'.len_utf8()..b]
                    .split_whitespace()
                    .map(str::to_string),
            );
        }
    }
    words.join(" ")
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn mfa_modal_says_six_digits_when_enter_comes_with_five() {
    let mut s = state();
    s.session_expiry.clear();
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Enter);
    typed(&mut s, "12345");
    key(&mut s, KeyCode::Enter);
    let t = draw(&mut s, 80, 20);
    insta::assert_snapshot!(t.backend());
    let text = screen_text(&t);
    assert!(text.contains("An MFA code has 6 digits; 5 typed"), "{text}");
    assert!(!text.contains("Checking the code"), "nothing sent:\n{text}");
}

#[test]
fn filter_shows_how_many_roles_match() {
    let mut s = state();
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "admin");
    let t = draw(&mut s, 80, 20);
    insta::assert_snapshot!(t.backend());
    let text = screen_text(&t);
    assert!(text.contains("2 of 6 roles match"), "{text}");
    typed(&mut s, "zzz");
    let text = screen_text(&draw(&mut s, 60, 15));
    assert!(text.contains("0 of 6 roles match"), "{text}");
    key(&mut s, KeyCode::Esc);
    let text = screen_text(&draw(&mut s, 80, 20));
    assert!(text.contains("6 roles in 3 accounts"), "{text}");
}

#[test]
fn help_overlay_cuts_no_line_at_80_columns() {
    let mut s = old_keys();
    key(&mut s, KeyCode::Char('?'));
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!(t.backend());
    let text = boxed_words(&t);
    for (_, what) in rolepick::ui::help_keys() {
        assert!(
            text.contains(&words(what)),
            "{what:?} whole in the help:\n{}",
            screen_text(&t)
        );
    }
}

#[test]
fn sign_in_modal_keeps_the_url_whole_on_a_line_of_its_own() {
    for (w, h) in [(80, 24), (100, 30), (80, 16)] {
        let mut s = sign_in_state();
        let t = draw(&mut s, w, h);
        let lines = screen_lines(&t);
        assert!(
            lines.iter().any(|l| l.contains(DEVICE_URL)),
            "{w}x{h}: the URL alone on one line:\n{}",
            screen_text(&t)
        );
        if (w, h) == (80, 24) {
            assert!(screen_text(&t).contains('▀'), "the QR code stays");
        }
    }
    // Narrower than the URL: the page to type the code in, whole; the URL
    // is never broken over two lines.
    let mut s = sign_in_state();
    let t = draw(&mut s, 60, 15);
    let lines = screen_lines(&t);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("https://device.sso.eu-west-1.amazonaws.com/")),
        "{}",
        screen_text(&t)
    );
    assert!(
        !screen_text(&t).contains("user_code="),
        "{}",
        screen_text(&t)
    );
}

#[test]
fn a_long_console_error_keeps_its_first_words_and_help_shows_it_whole() {
    let mut s = state();
    key(&mut s, KeyCode::Char('o'));
    let message = "No browser for dev-admin: `rolepick console dev-admin --print` prints the sign-in URL to open yourself (the browser command failed: exit status: 2; set BROWSER to your browser's command)";
    update(
        &mut s,
        Msg::ConsoleOpened {
            req_id: 1,
            profile: "dev-admin".into(),
            result: Err(message.into()),
        },
    );
    let t = draw(&mut s, 80, 20);
    insta::assert_snapshot!(t.backend());
    let status = &screen_lines(&t)[18];
    assert!(
        status.starts_with(" ✗ No browser for dev-admin: `rolepick console dev-admin --print`"),
        "{status:?}"
    );
    assert!(status.ends_with("… (? more)"), "{status:?}");
    key(&mut s, KeyCode::Char('?'));
    let t = draw(&mut s, 80, 30);
    let text = boxed_words(&t);
    assert!(text.contains(&words(message)), "{}", screen_text(&t));
    // Small terminals do not panic.
    for (w, h) in [(60, 15), (20, 5)] {
        draw(&mut s, w, h);
    }
}
