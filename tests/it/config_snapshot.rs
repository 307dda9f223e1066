//! The configuration snapshot (a compiled copy of the merged profiles in
//! rolepick's cache directory) never changes an answer: the real binary, in
//! a temp HOME, is run before and after each kind of change to the files,
//! and what it says must be what a full parse says. No AWS is needed.

use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

/// A snapshot is written only for files unchanged for this long.
const SETTLE: Duration = Duration::from_millis(2_200);

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSnapshotKEY";
const KEY_ID: &str = "AKIASNAPSHOTTESTKEY1";

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(config: &str) -> Home {
        let dir = tempfile::Builder::new()
            .prefix("rolepick-snapshot-")
            .tempdir()
            .unwrap();
        let h = Home { dir };
        fs::create_dir_all(h.aws()).unwrap();
        h.write("config", config);
        h.write(
            "credentials",
            &format!("[primary]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
        );
        h
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }
    fn aws(&self) -> PathBuf {
        self.root().join("home/.aws")
    }
    fn cache(&self) -> PathBuf {
        self.root().join("cache")
    }
    fn config(&self) -> PathBuf {
        self.aws().join("config")
    }

    /// Writes `~/.aws/<name>` in place (same inode), 0600.
    fn write(&self, name: &str, text: &str) {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(self.aws().join(name))
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .unwrap();
    }

    fn cmd(&self, args: &[&str]) -> Output {
        self.cmd_with(args, &[])
    }

    /// [`Home::cmd`] with `env` set over the usual environment.
    fn cmd_with(&self, args: &[&str], env: &[(&str, PathBuf)]) -> Output {
        let x = |p: &str| self.root().join(p);
        Command::new(env!("CARGO_BIN_EXE_rolepick"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", x("home"))
            .env("TERM", "dumb")
            .env("ROLEPICK_CACHE_DIR", self.cache())
            .env("XDG_CONFIG_HOME", x("xdg/config"))
            .env("XDG_DATA_HOME", x("xdg/data"))
            .env("XDG_CACHE_HOME", x("xdg/cache"))
            .env("XDG_RUNTIME_DIR", x("xdg/runtime"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.root())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `rolepick -v list --json`: (profile -> role ARN, stderr).
    fn list(&self) -> (Vec<(String, String)>, String) {
        let out = self.cmd(&["-v", "list", "--json"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "list failed: {err}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["profile"].as_str().unwrap_or_default().to_string(),
                    r["role_arn"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (rows, err)
    }

    fn snapshots(&self) -> Vec<PathBuf> {
        fs::read_dir(self.cache())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "snapshot"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Lets the files settle, runs `list` once so the snapshot is written,
    /// and checks the next run reads it.
    fn snapshot_made(&self) -> Vec<(String, String)> {
        std::thread::sleep(SETTLE);
        let (first, _) = self.list();
        assert_eq!(self.snapshots().len(), 1, "a snapshot is written");
        let (second, err) = self.list();
        assert!(
            err.contains("from its snapshot"),
            "the second run reads the snapshot: {err}"
        );
        assert_eq!(first, second, "the snapshot gives the full parse's answer");
        second
    }
}

fn config_with(role: &str) -> String {
    format!(
        "[profile primary]\nregion = us-east-1\n\n[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/{role}\nsource_profile = primary\n\n[profile dev]\nrole_arn = arn:aws:iam::444455556666:role/dev\nsource_profile = admin\n"
    )
}

fn arn_of(rows: &[(String, String)], profile: &str) -> String {
    rows.iter()
        .find(|(p, _)| p == profile)
        .map(|(_, a)| a.clone())
        .unwrap_or_else(|| panic!("no {profile} in {rows:?}"))
}

fn mtime(p: &Path) -> SystemTime {
    fs::metadata(p).unwrap().modified().unwrap()
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn snapshot_sees_an_edit() {
    let h = Home::new(&config_with("admin"));
    let before = h.snapshot_made();
    assert!(arn_of(&before, "admin").ends_with("role/admin"));
    h.write("config", &config_with("administrator"));
    let (after, _) = h.list();
    assert!(arn_of(&after, "admin").ends_with("role/administrator"));
}

#[test]
fn snapshot_sees_a_same_size_edit_with_the_old_mtime() {
    // An editor (or `touch -r`) that keeps the size and puts the old mtime
    // back: only the ctime tells.
    let h = Home::new(&config_with("aaaa"));
    h.snapshot_made();
    let old = mtime(&h.config());
    h.write("config", &config_with("bbbb"));
    set_mtime(&h.config(), old);
    assert_eq!(mtime(&h.config()), old);
    let (after, _) = h.list();
    assert!(arn_of(&after, "admin").ends_with("role/bbbb"), "{after:?}");
}

#[test]
fn snapshot_sees_a_same_size_edit_dated_in_the_past() {
    // Clock skew: the new content is stamped a day before the snapshot.
    let h = Home::new(&config_with("aaaa"));
    h.snapshot_made();
    h.write("config", &config_with("cccc"));
    set_mtime(&h.config(), SystemTime::now() - Duration::from_secs(86_400));
    let (after, _) = h.list();
    assert!(arn_of(&after, "admin").ends_with("role/cccc"), "{after:?}");
}

#[test]
fn snapshot_sees_a_touch() {
    let h = Home::new(&config_with("admin"));
    let before = h.snapshot_made();
    set_mtime(&h.config(), SystemTime::now());
    let (after, err) = h.list();
    assert_eq!(before, after);
    assert!(
        !err.contains("from its snapshot"),
        "a touched file is read again: {err}"
    );
}

#[test]
fn snapshot_sees_a_file_replaced_by_rename() {
    // Same size and mtime as the old file, another inode.
    let h = Home::new(&config_with("aaaa"));
    h.snapshot_made();
    let old = mtime(&h.config());
    let tmp = h.aws().join("config.new");
    fs::write(&tmp, config_with("dddd")).unwrap();
    set_mtime(&tmp, old);
    assert_eq!(
        fs::metadata(&tmp).unwrap().size(),
        fs::metadata(h.config()).unwrap().size()
    );
    fs::rename(&tmp, h.config()).unwrap();
    let (after, _) = h.list();
    assert!(arn_of(&after, "admin").ends_with("role/dddd"), "{after:?}");
}

#[test]
fn a_damaged_snapshot_means_a_full_parse() {
    let h = Home::new(&config_with("admin"));
    let good = h.snapshot_made();
    let snap = h.snapshots().remove(0);
    let bytes = fs::read(&snap).unwrap();
    let mut variants: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"not a snapshot".to_vec(),
        bytes[..bytes.len() / 2].to_vec(),
    ];
    // One flipped byte in each region (header, meta, table, records).
    for at in [20, 80, bytes.len() / 2, bytes.len() - 3] {
        let mut b = bytes.clone();
        b[at] ^= 0x5a;
        variants.push(b);
    }
    for (i, v) in variants.iter().enumerate() {
        fs::write(&snap, v).unwrap();
        let (rows, err) = h.list();
        assert_eq!(rows, good, "damaged snapshot #{i} changed the answer");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !err.contains("from its snapshot"),
            "damaged snapshot #{i} was used: {err}"
        );
    }
}

#[test]
fn snapshot_holds_no_secret_from_the_credentials_file() {
    let h = Home::new(&config_with("admin"));
    h.snapshot_made();
    let bytes = fs::read(h.snapshots().remove(0)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(SECRET), "the secret key is in the snapshot");
    assert!(
        !text.contains(KEY_ID),
        "the access key id is in the snapshot"
    );
    let mode = fs::metadata(h.snapshots().remove(0)).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn errors_are_still_reported_after_a_snapshot() {
    let h = Home::new(&config_with("admin"));
    h.snapshot_made();
    // A malformed line anywhere in the file.
    let mut bad = config_with("admin");
    bad.push_str("\n[profile other]\nthis line is wrong\n");
    h.write("config", &bad);
    for _ in 0..2 {
        let out = h.cmd(&["exec", "admin", "--", "true"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(".aws/config:13"), "{err}");
    }
    // A clash with config.toml, found on the warm path too.
    h.write("config", &config_with("admin"));
    let toml = h.root().join("xdg/config/rolepick/config.toml");
    fs::create_dir_all(toml.parent().unwrap()).unwrap();
    fs::write(
        &toml,
        "[[source]]\nname = \"primary2\"\n\n[[account]]\nname = \"prod\"\nid = \"111122223333\"\nsource = \"primary2\"\nroles = [{ name = \"x\", profile = \"admin\" }]\n",
    )
    .unwrap();
    std::thread::sleep(SETTLE);
    for _ in 0..2 {
        let out = h.cmd(&["list"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("defined twice"), "{err}");
    }
}

#[test]
fn warnings_and_broken_profiles_are_said_again_from_the_snapshot() {
    let mut cfg = config_with("admin");
    cfg.push_str("\n[profile orphan]\nrole_arn = arn:aws:iam::111122223333:role/x\nsource_profile = nowhere\n");
    let h = Home::new(&cfg);
    let index = h.root().join("xdg/data/rolepick/vault-index.json");
    fs::create_dir_all(index.parent().unwrap()).unwrap();
    fs::write(&index, "{damaged").unwrap();
    h.snapshot_made();
    let (_, err) = h.list();
    assert!(err.contains("from its snapshot"), "{err}");
    assert!(err.contains("ignoring damaged vault index"), "{err}");
    assert!(err.contains("\"orphan\" is not usable"), "{err}");
    // One profile from the snapshot: the broken one's reason, and the
    // suggestions for an unknown name, as a full parse gives them.
    let out = h.cmd(&["exec", "orphan", "--", "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("\"nowhere\""), "{err}");
    let out = h.cmd(&["exec", "admn", "--", "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Did you mean \"admin\""), "{err}");
}

/// `rolepick -v list` with `env`: (stdout, stderr).
fn list_with(h: &Home, env: &[(&str, PathBuf)]) -> (String, String) {
    let out = h.cmd_with(&["-v", "list"], env);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "list failed: {err}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), err)
}

#[test]
fn snapshot_sees_a_vault_file_restored_without_its_index() {
    // No key in the credentials file: admin's source has a key only if the
    // vault holds it, and without an index only the vault file says so.
    let h = Home::new(&config_with("admin"));
    h.write("credentials", "");
    h.snapshot_made();
    let (before, _) = list_with(&h, &[]);
    let vault = h.root().join("xdg/data/rolepick/vault.age");
    fs::create_dir_all(vault.parent().unwrap()).unwrap();
    fs::write(&vault, "age-encryption.org/v1\n").unwrap();
    let (after, err) = list_with(&h, &[]);
    assert!(
        !err.contains("from its snapshot"),
        "the vault file is an input: {err}"
    );
    assert_ne!(before, after, "the vault file changes the answer");
    // What a full parse says.
    for s in h.snapshots() {
        fs::remove_file(s).unwrap();
    }
    assert_eq!(list_with(&h, &[]).0, after);
}

#[test]
fn each_environment_keeps_its_own_snapshot() {
    let h = Home::new(&config_with("admin"));
    h.snapshot_made();
    for (var, value) in [
        ("XDG_DATA_HOME", h.root().join("xdg/data2")),
        ("ROLEPICK_VAULT_FILE", h.root().join("vault/other.age")),
        ("HOME", h.root().join("home")),
    ] {
        let other = [(var, value)];
        // HOME given as it is: the same environment, the same snapshot.
        let same = var == "HOME";
        let (_, err) = list_with(&h, &other);
        assert_eq!(err.contains("from its snapshot"), same, "{var}: {err}");
        let (_, err) = list_with(&h, &other);
        assert!(err.contains("from its snapshot"), "{var}, again: {err}");
        // Alternating does not evict the other's snapshot.
        let (_, err) = list_with(&h, &[]);
        assert!(err.contains("from its snapshot"), "{var}, back: {err}");
    }
    assert_eq!(h.snapshots().len(), 3);
}

#[test]
fn a_snapshot_that_cannot_be_written_is_said_once() {
    let h = Home::new(&config_with("admin"));
    h.snapshot_made();
    let snap = h.snapshots().remove(0);
    fs::remove_file(&snap).unwrap();
    fs::create_dir(&snap).unwrap();
    let warning = "warning: cannot write the configuration snapshot";
    let (_, err) = list_with(&h, &[]);
    assert_eq!(err.matches(warning).count(), 1, "{err}");
    assert!(err.contains(&snap.display().to_string()), "{err}");
    let (_, err) = list_with(&h, &[]);
    assert!(!err.contains(warning), "said once: {err}");
    // Out of the way: written again, and said again if it breaks again.
    fs::remove_dir(&snap).unwrap();
    let (_, err) = list_with(&h, &[]);
    assert!(!err.contains(warning), "{err}");
    assert!(snap.is_file());
    fs::remove_file(&snap).unwrap();
    fs::create_dir(&snap).unwrap();
    let (_, err) = list_with(&h, &[]);
    assert_eq!(err.matches(warning).count(), 1, "{err}");
}
