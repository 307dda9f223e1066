//! Picker figures with 10,000 roles in 500 accounts (criterion; reports, does
//! not pass/fail): one filter keystroke (`update` + render on `TestBackend`),
//! and the first frame (building the state from the model + render).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rolepick::app::msg::Msg;
use rolepick::app::state::State;
use rolepick::app::update::update;
use rolepick::model::{Account, Model, Origin, Parent, Profile, ProfileKind, RoleSpec, Source};

const ACCOUNTS: usize = 500;
const ROLES_PER_ACCOUNT: usize = 20;
const ROLE_NAMES: [&str; 20] = [
    "Admin",
    "ReadOnly",
    "Developer",
    "Deployer",
    "BillingViewer",
    "SecurityAudit",
    "NetworkAdmin",
    "DatabaseAdmin",
    "SupportUser",
    "DataScientist",
    "PowerUser",
    "ViewOnly",
    "Operator",
    "Incident",
    "BreakGlass",
    "CostExplorer",
    "LogReader",
    "Backup",
    "CiRunner",
    "Terraform",
];
const TEAMS: [&str; 8] = [
    "payments", "search", "identity", "platform", "data", "mobile", "web", "ml",
];
const ENVS: [&str; 4] = ["dev", "staging", "prod", "sandbox"];

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn model() -> Model {
    let origin = Origin {
        file: "config.toml".into(),
        line: 1,
    };
    let mut m = Model::default();
    m.sources.insert(
        "primary".into(),
        Source::iam(
            "primary",
            rolepick::model::IamUser {
                mfa_serial: Some("arn:aws:iam::000000000000:mfa/primary".into()),
                mfa_process: None,
                session_duration: Duration::from_secs(43200),
                credentials_profile: "primary".into(),
            },
            None,
            origin.clone(),
        ),
    );
    for a in 0..ACCOUNTS {
        let id = format!("{:012}", 100_000_000_000u64 + a as u64 * 7919);
        let team = TEAMS[a % TEAMS.len()];
        let env = ENVS[a % ENVS.len()];
        let acct = format!("{team}-{env}-{a:03}");
        for role in ROLE_NAMES.iter().take(ROLES_PER_ACCOUNT) {
            m.profiles.push(Profile {
                name: format!("{acct}-{}", role.to_lowercase()),
                source: "primary".into(),
                region: Some("eu-west-1".into()),
                kind: ProfileKind::Role(RoleSpec {
                    role_arn: format!("arn:aws:iam::{id}:role/{role}"),
                    external_id: None,
                    session_name: None,
                    duration_seconds: None,
                    parent: Parent::Source,
                }),
                account: Account {
                    id: Some(id.clone()),
                    name: Some(acct.clone()),
                    group: None,
                    tags: vec![format!("team:{team}"), format!("env:{env}")],
                },
                mfa_serial: Some("arn:aws:iam::000000000000:mfa/primary".into()),
                origin: origin.clone(),
            });
        }
    }
    m
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn new_state(m: &Model) -> State {
    // A few hundred cached roles, as after a working day.
    let roles: HashMap<String, SystemTime> = m
        .profiles
        .iter()
        .step_by(37)
        .map(|p| (p.name.clone(), at(1_800_003_000)))
        .collect();
    let sessions = HashMap::from([("primary".to_string(), at(1_800_040_000))]);
    let mut s = State::new(m, roles, sessions, at(1_800_000_000));
    update(
        &mut s,
        Msg::Resize {
            width: 120,
            height: 40,
        },
    );
    s
}

fn benches(c: &mut Criterion) {
    let m = model();
    assert_eq!(m.profiles.len(), 10_000);

    c.bench_function("first frame: State::new + render, 10k roles, 120x40", |b| {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        b.iter(|| {
            let s = new_state(&m);
            term.draw(|f| rolepick::ui::render(&s, f)).unwrap();
            black_box(&s);
        });
    });

    // The keystroke that matters most: the first one, over all 10,000 rows.
    c.bench_function(
        "filter keystroke 1 ('p'): update + render, 10k roles",
        |b| {
            let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
            b.iter_batched_ref(
                || {
                    let mut s = new_state(&m);
                    update(&mut s, key('/'));
                    s
                },
                |s| {
                    update(s, key('p'));
                    term.draw(|f| rolepick::ui::render(s, f)).unwrap();
                },
                BatchSize::LargeInput,
            );
        },
    );

    // A later keystroke narrowing a longer pattern ("paydevadm" + 'i').
    c.bench_function("filter keystroke 10: update + render, 10k roles", |b| {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        b.iter_batched_ref(
            || {
                let mut s = new_state(&m);
                update(&mut s, key('/'));
                for ch in "paydevadm".chars() {
                    update(&mut s, key(ch));
                }
                s
            },
            |s| {
                update(s, key('i'));
                term.draw(|f| rolepick::ui::render(s, f)).unwrap();
            },
            BatchSize::LargeInput,
        );
    });

    c.bench_function("tick redraw (countdowns), 10k roles", |b| {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let mut s = new_state(&m);
        let mut t = 1_800_000_000;
        b.iter(|| {
            t += 1;
            update(&mut s, Msg::Tick { now: at(t) });
            term.draw(|f| rolepick::ui::render(&s, f)).unwrap();
        });
    });
}

criterion_group! {
    name = picker;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(picker);
