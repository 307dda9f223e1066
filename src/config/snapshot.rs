//! A compiled snapshot of the merged [`Model`], so that a warm run does not
//! parse every profile of a large `~/.aws/config` again.
//!
//! The snapshot is keyed by everything a full parse depends on: the
//! identity of each input file (device, inode, size, mtime and ctime in
//! nanoseconds, permission bits, or "absent"; compared for equality, never
//! ordering, so a clock moved back or `touch -d` to the past is seen): the
//! three configuration files, the vault's index and the vault file (whose
//! mere existence changes the answer when the index is lost); the paths and
//! the environment that chose them, and the rolepick binary itself. Its
//! file name is a hash of the paths and the environment, so that two
//! configurations (another `HOME`, `XDG_DATA_HOME`, `ROLEPICK_VAULT_FILE`)
//! each keep their own. Any
//! difference means a full parse. A snapshot is written only after a
//! successful full parse (an error is never cached: it is reported afresh
//! each run) and only when no input changed within the last
//! [`RACY_WINDOW`] (a file written in the same timestamp tick as the parse
//! could change again without changing its times). The warnings and notes
//! of that parse are stored and said again on every run that uses it.
//!
//! It holds no secret: the model keeps only which credentials-file sections
//! hold a key, never a key. Read as untrusted input: magic, version, bounds
//! and checksums are checked, and anything off means a full parse.
//!
//! Layout (little-endian): a 64-byte header; the meta block (key, notes,
//! settings, sources, checksum of the records); a hash table of 32-byte
//! slots (name hash, record offset, length, checksum); the records (each a
//! profile or a broken profile, length-prefixed, in model order). A run for
//! one profile reads the header, the meta, a few slots and the records of
//! that profile's chain: its cost does not grow with the configuration.

use super::{Paths, Snapshotted};
use crate::diag::Note;
use crate::model::{
    Account, IamUser, Model, Origin, Parent, Profile, ProfileKind, RoleSpec, Settings, Source,
    SourceKind, SsoSession, SubshellCredentials,
};
use crate::vault::store::Backend;
use crate::vault::VaultSettings;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const MAGIC: &[u8; 8] = b"RPSNAP\r\n";
/// Bumped whenever the layout or the meaning of a field changes.
const FORMAT: u32 = 4;
const HEADER: usize = 64;
const SLOT: usize = 32;
/// Refuse absurd sizes before allocating (a snapshot of 100,000 profiles
/// is about 20 MB).
const MAX_BLOCK: u64 = 1 << 30;
/// A file whose mtime or ctime is this recent (or in the future) is not
/// snapshotted: it may change again within the same timestamp tick.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What a change to one input file changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub exists: bool,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    /// Permission bits (the credentials-file guard reads them from here).
    pub mode: u32,
}

impl FileId {
    pub const ABSENT: FileId = FileId {
        exists: false,
        dev: 0,
        ino: 0,
        size: 0,
        mtime_ns: 0,
        ctime_ns: 0,
        mode: 0,
    };

    /// The identity of `path` (following symlinks, as reading does); None
    /// when it cannot be told (then nothing is snapshotted).
    pub fn of(path: &Path) -> Option<FileId> {
        match std::fs::metadata(path) {
            Ok(m) => Some(FileId {
                exists: true,
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
                ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
                mode: m.mode() & 0o7777,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(FileId::ABSENT),
            Err(_) => None,
        }
    }

    /// Changed within [`RACY_WINDOW`] of `now`, or stamped after it.
    fn is_racy(&self, now: SystemTime) -> bool {
        if !self.exists {
            return false;
        }
        let now_ns = match now.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(_) => return true,
        };
        let window = i128::try_from(RACY_WINDOW.as_nanos()).unwrap_or(i128::MAX);
        self.mtime_ns > now_ns - window || self.ctime_ns > now_ns - window
    }
}

/// What chose the input files, besides their contents: the three
/// configuration paths, whether the rolepick file was named, and what a
/// full parse reads from the environment (`HOME` for `~` in config.toml,
/// and the default vault file, from `ROLEPICK_VAULT_FILE`, `XDG_DATA_HOME`
/// or the data directory).
fn setting_bytes(paths: &Paths, w: &mut Writer) {
    for p in [&paths.aws_config, &paths.aws_credentials, &paths.rolepick] {
        w.path(p);
    }
    w.u8(u8::from(paths.rolepick_explicit));
    w.opt_os(std::env::var_os("HOME").as_deref());
    w.path(&crate::vault::store::Location::discover(None).file);
}

/// The snapshot's file name in rolepick's cache directory: one per set of
/// configuration paths and environment (`setting_bytes`), so that two
/// configurations do not evict each other.
pub fn file_name(paths: &Paths) -> String {
    let mut w = Writer::default();
    setting_bytes(paths, &mut w);
    format!("config-{:016x}.snapshot", fnv(&w.buf))
}

/// The key of a snapshot for `paths` whose other inputs (the vault's
/// index and file) are `extra`, as things are now: `ids` are the
/// identities of the AWS config, credentials and rolepick config files,
/// then of `extra`.
fn key_bytes(paths: &Paths, extra: &[PathBuf; 2], ids: &[FileId; 5]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(FORMAT);
    w.str(env!("CARGO_PKG_VERSION"));
    // The build: both programs (crate::warm::program) and any copy of them read
    // the snapshots either writes; another build never does.
    w.str(env!("ROLEPICK_SOURCE_HASH"));
    setting_bytes(paths, &mut w);
    for (p, id) in [
        &paths.aws_config,
        &paths.aws_credentials,
        &paths.rolepick,
        &extra[0],
        &extra[1],
    ]
    .iter()
    .zip(ids)
    {
        w.path(p);
        w.file_id(id);
    }
    w.buf
}

/// The identities of the three configuration files now.
pub fn config_ids(paths: &Paths) -> Option<[FileId; 3]> {
    Some([
        FileId::of(&paths.aws_config)?,
        FileId::of(&paths.aws_credentials)?,
        FileId::of(&paths.rolepick)?,
    ])
}

/// The bytes of a snapshot of `model`, made by a full parse whose inputs
/// were `inputs` and which said `notes`; None when it must not be written
/// (an input changed too recently).
pub fn encode(
    paths: &Paths,
    inputs: &Snapshotted,
    notes: &[Note],
    model: &Model,
    now: SystemTime,
) -> Option<Vec<u8>> {
    let ids = [
        inputs.ids[0],
        inputs.ids[1],
        inputs.ids[2],
        inputs.index_id,
        inputs.vault_id,
    ];
    if ids.iter().any(|i| i.is_racy(now)) {
        return None;
    }
    let extra = [inputs.index_file.clone(), inputs.vault_file.clone()];
    let key = key_bytes(paths, &extra, &ids);

    // Records, and where each one is.
    let mut records = Writer::default();
    let mut entries: Vec<(u64, u64, u64, u64)> = Vec::new(); // hash, off, len, sum
    let mut push = |name: &str, body: Vec<u8>, records: &mut Writer| {
        let off = records.buf.len() as u64;
        records.u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
        records.buf.extend_from_slice(&body);
        entries.push((
            fnv(name.as_bytes()),
            off,
            records.buf.len() as u64 - off,
            fnv(&records.buf[usize::try_from(off).unwrap_or(0)..]),
        ));
    };
    for p in &model.profiles {
        let mut w = Writer::default();
        w.u8(0);
        w.profile(p);
        push(&p.name, w.buf, &mut records);
    }
    for (name, why) in &model.broken {
        let mut w = Writer::default();
        w.u8(1);
        w.str(name);
        w.str(why);
        push(name, w.buf, &mut records);
    }
    let slots = (entries.len() * 2).max(8).next_power_of_two();
    let mut table = vec![0u8; slots * SLOT];
    for &(hash, off, len, sum) in &entries {
        let mut i = usize::try_from(hash).unwrap_or(0) & (slots - 1);
        while u64::from_le_bytes(table[i * SLOT + 16..i * SLOT + 24].try_into().ok()?) != 0 {
            i = (i + 1) & (slots - 1);
        }
        let s = &mut table[i * SLOT..(i + 1) * SLOT];
        s[0..8].copy_from_slice(&hash.to_le_bytes());
        s[8..16].copy_from_slice(&off.to_le_bytes());
        s[16..24].copy_from_slice(&len.to_le_bytes());
        s[24..32].copy_from_slice(&sum.to_le_bytes());
    }

    let mut meta = Writer::default();
    meta.path(&inputs.index_file);
    meta.path(&inputs.vault_file);
    meta.bytes(&key);
    meta.u32(u32::try_from(notes.len()).ok()?);
    for n in notes {
        match n {
            Note::Warn(m) => {
                meta.u8(0);
                meta.str(m);
            }
            Note::Debug(m) => {
                meta.u8(1);
                meta.str(m);
            }
        }
    }
    meta.settings(&model.settings);
    meta.u32(u32::try_from(model.sources.len()).ok()?);
    for s in model.sources.values() {
        meta.source(s);
    }
    meta.u32(u32::try_from(model.profiles.len()).ok()?);
    meta.u32(u32::try_from(model.broken.len()).ok()?);
    meta.u64(fnv(&records.buf));

    let table_off = (HEADER + meta.buf.len()) as u64;
    let records_off = table_off + table.len() as u64;
    let mut out = Vec::with_capacity(HEADER + meta.buf.len() + table.len() + records.buf.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(meta.buf.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv(&meta.buf).to_le_bytes());
    out.extend_from_slice(&table_off.to_le_bytes());
    out.extend_from_slice(&(slots as u64).to_le_bytes());
    out.extend_from_slice(&records_off.to_le_bytes());
    out.extend_from_slice(&(records.buf.len() as u64).to_le_bytes());
    out.extend_from_slice(&meta.buf);
    out.extend_from_slice(&table);
    out.extend_from_slice(&records.buf);
    Some(out)
}

/// A snapshot whose key matches the configuration as it is now.
pub struct Snapshot {
    file: File,
    notes: Vec<Note>,
    settings: Settings,
    sources: Vec<Source>,
    profiles: usize,
    broken: usize,
    records_sum: u64,
    table_off: u64,
    slots: u64,
    records_off: u64,
    records_len: u64,
}

fn read_at(file: &File, off: u64, len: u64) -> Option<Vec<u8>> {
    if len > MAX_BLOCK {
        return None;
    }
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    file.read_exact_at(&mut buf, off).ok()?;
    Some(buf)
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl Snapshot {
    /// Opens the snapshot in `file` if it is well formed and made from the
    /// configuration at `paths` as it is now; None means "parse in full".
    pub fn open(file: File, paths: &Paths) -> Option<Snapshot> {
        let size = file.metadata().ok()?.len();
        let mut head = [0u8; HEADER];
        file.read_exact_at(&mut head, 0).ok()?;
        if &head[0..8] != MAGIC || u32::from_le_bytes(head[8..12].try_into().ok()?) != FORMAT {
            return None;
        }
        let meta_len = le64(&head, 16)?;
        let meta_sum = le64(&head, 24)?;
        let table_off = le64(&head, 32)?;
        let slots = le64(&head, 40)?;
        let records_off = le64(&head, 48)?;
        let records_len = le64(&head, 56)?;
        let table_len = slots.checked_mul(SLOT as u64)?;
        if table_off != (HEADER as u64).checked_add(meta_len)?
            || records_off != table_off.checked_add(table_len)?
            || records_off.checked_add(records_len)? != size
            || !slots.is_power_of_two()
        {
            return None;
        }
        let meta = read_at(&file, HEADER as u64, meta_len)?;
        if fnv(&meta) != meta_sum {
            return None;
        }
        let mut r = Reader::new(&meta);
        let extra = [r.path()?, r.path()?];
        let key = r.bytes()?;
        let ids = config_ids(paths)?;
        let now = key_bytes(
            paths,
            &extra,
            &[
                ids[0],
                ids[1],
                ids[2],
                FileId::of(&extra[0])?,
                FileId::of(&extra[1])?,
            ],
        );
        if key != now.as_slice() {
            crate::diag::debug("configuration changed since its snapshot: reading it in full");
            return None;
        }
        let n = r.u32()?;
        let mut notes = Vec::new();
        for _ in 0..n {
            notes.push(match r.u8()? {
                0 => Note::Warn(r.str()?),
                1 => Note::Debug(r.str()?),
                _ => return None,
            });
        }
        let settings = r.settings()?;
        let n = r.u32()?;
        let mut sources = Vec::new();
        for _ in 0..n {
            sources.push(r.source()?);
        }
        let profiles = r.u32()? as usize;
        let broken = r.u32()? as usize;
        let records_sum = r.u64()?;
        r.end()?;
        Some(Snapshot {
            file,
            notes,
            settings,
            sources,
            profiles,
            broken,
            records_sum,
            table_off,
            slots,
            records_off,
            records_len,
        })
    }

    /// What the full parse said (to be said again).
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    fn base(&self) -> Model {
        let mut m = Model::default();
        m.settings = self.settings.clone();
        for s in &self.sources {
            m.sources.insert(s.name.clone(), s.clone());
        }
        m
    }

    /// The whole model. Records are read through a small buffer, one at a
    /// time: no copy of the whole file is held.
    pub fn model(&self) -> Option<Model> {
        use std::io::{BufReader, Read, Seek, SeekFrom};
        let mut file = &self.file;
        file.seek(SeekFrom::Start(self.records_off)).ok()?;
        let mut rd = BufReader::with_capacity(64 * 1024, file.take(self.records_len));
        let mut sum = Fnv::new();
        let mut body = Vec::new();
        let mut m = self.base();
        m.profiles.reserve(self.profiles.min(1 << 20));
        let mut left = self.records_len;
        while left > 0 {
            let mut len = [0u8; 4];
            rd.read_exact(&mut len).ok()?;
            let n = u64::from(u32::from_le_bytes(len));
            left = left.checked_sub(4 + n)?;
            body.resize(usize::try_from(n).ok()?, 0);
            rd.read_exact(&mut body).ok()?;
            sum.bytes(&len);
            sum.bytes(&body);
            match Record::decode(&body)? {
                Record::Profile(p) => m.profiles.push(*p),
                Record::Broken(name, why) => {
                    m.broken.insert(name, why);
                }
            }
        }
        if sum.finish() != self.records_sum
            || m.profiles.len() != self.profiles
            || m.broken.len() != self.broken
        {
            return None;
        }
        m.reindex();
        Some(m)
    }

    /// A model holding only what getting credentials for `name` needs: the
    /// profile (or why it is broken), the profiles its role chain goes
    /// through, every source and the settings. None when `name` is not in
    /// the snapshot (the caller then wants the whole model, to suggest
    /// names) or the snapshot is damaged.
    pub fn model_for(&self, name: &str) -> Option<Model> {
        let mut m = self.base();
        let mut next = Some(name.to_string());
        while let Some(n) = next.take() {
            if m.profiles.iter().any(|p| p.name == n) || m.profiles.len() > self.profiles {
                break; // a loop cannot be in a parsed model; stop anyway
            }
            match self.find(&n)? {
                Record::Broken(name, why) => {
                    m.broken.insert(name, why);
                }
                Record::Profile(p) => {
                    if let ProfileKind::Role(RoleSpec {
                        parent: Parent::Profile(parent),
                        ..
                    }) = &p.kind
                    {
                        next = Some(parent.clone());
                    }
                    m.profiles.push(*p);
                }
            }
        }
        m.reindex();
        Some(m)
    }

    /// The record named `name`, found through the hash table.
    fn find(&self, name: &str) -> Option<Record> {
        const BATCH: u64 = 8;
        let hash = fnv(name.as_bytes());
        let mut i = hash & (self.slots - 1);
        let mut probed = 0;
        while probed < self.slots {
            let n = BATCH.min(self.slots - i);
            let buf = read_at(
                &self.file,
                self.table_off + i * SLOT as u64,
                n * SLOT as u64,
            )?;
            for s in buf.chunks_exact(SLOT) {
                let (h, off, len, sum) = (le64(s, 0)?, le64(s, 8)?, le64(s, 16)?, le64(s, 24)?);
                if len == 0 {
                    return None;
                }
                if h == hash && off.checked_add(len)? <= self.records_len {
                    let rec = read_at(&self.file, self.records_off + off, len)?;
                    if fnv(&rec) != sum {
                        return None;
                    }
                    let body = Reader::new(&rec).bytes()?;
                    let record = Record::decode(body)?;
                    if record.name() == name {
                        return Some(record);
                    }
                }
                probed += 1;
            }
            i = (i + n) & (self.slots - 1);
        }
        None
    }
}

enum Record {
    Profile(Box<Profile>),
    Broken(String, String),
}

impl Record {
    fn decode(body: &[u8]) -> Option<Record> {
        let mut r = Reader::new(body);
        let rec = match r.u8()? {
            0 => Record::Profile(Box::new(r.profile()?)),
            1 => Record::Broken(r.str()?, r.str()?),
            _ => return None,
        };
        r.end()?;
        Some(rec)
    }

    fn name(&self) -> &str {
        match self {
            Record::Profile(p) => &p.name,
            Record::Broken(n, _) => n,
        }
    }
}

/// A 64-bit hash in the manner of FNV-1a, over 8-byte little-endian words
/// (with a rotation, so that every bit of a word reaches every bit of the
/// hash): stable across builds; names the file, hashes names, checks blocks
/// against damage (the directory is private to the user). A word at a time
/// because the records of a large configuration are megabytes, checked on
/// every `list` and picker start; the answer does not depend on how the
/// bytes are split between calls.
struct Fnv {
    h: u64,
    /// Bytes not yet hashed (fewer than 8), little-endian in a word.
    tail: u64,
    tail_len: u32,
}

const FNV_PRIME: u64 = 0x0100_0000_01b3;

impl Fnv {
    fn new() -> Fnv {
        Fnv {
            h: 0xcbf2_9ce4_8422_2325,
            tail: 0,
            tail_len: 0,
        }
    }
    fn word(&mut self, w: u64) {
        self.h = (self.h ^ w).wrapping_mul(FNV_PRIME).rotate_left(29);
    }
    fn bytes(&mut self, mut b: &[u8]) {
        while self.tail_len > 0 {
            let Some((&x, rest)) = b.split_first() else {
                return;
            };
            self.tail |= u64::from(x) << (8 * self.tail_len);
            self.tail_len = (self.tail_len + 1) % 8;
            b = rest;
            if self.tail_len == 0 {
                let w = std::mem::take(&mut self.tail);
                self.word(w);
            }
        }
        let mut words = b.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.word(u64::from_le_bytes(a));
        }
        for &x in words.remainder() {
            self.tail |= u64::from(x) << (8 * self.tail_len);
            self.tail_len += 1;
        }
    }
    fn finish(&self) -> u64 {
        // The length of the tail tells `ab` from `ab\0`.
        let last = self.tail ^ (u64::from(self.tail_len) << 59);
        (self.h ^ last).wrapping_mul(FNV_PRIME).rotate_left(29)
    }
}

fn fnv(b: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.bytes(b);
    h.finish()
}

#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn i128(&mut self, v: i128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn opt_os(&mut self, s: Option<&OsStr>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.bytes(s.as_bytes());
            }
        }
    }
    fn path(&mut self, p: &Path) {
        self.bytes(p.as_os_str().as_bytes());
    }
    fn duration(&mut self, d: Duration) {
        self.u64(d.as_secs());
        self.u32(d.subsec_nanos());
    }
    fn file_id(&mut self, id: &FileId) {
        let FileId {
            exists,
            dev,
            ino,
            size,
            mtime_ns,
            ctime_ns,
            mode,
        } = *id;
        self.u8(u8::from(exists));
        self.u64(dev);
        self.u64(ino);
        self.u64(size);
        self.i128(mtime_ns);
        self.i128(ctime_ns);
        self.u32(mode);
    }
    fn origin(&mut self, o: &Origin) {
        let Origin { file, line } = o;
        self.path(file);
        self.u64(*line as u64);
    }
    fn settings(&mut self, s: &Settings) {
        let Settings {
            session_duration,
            refresh_before,
            default_region,
            vault,
            subshell_credentials,
            sso_discovery_ttl,
        } = s;
        self.duration(*session_duration);
        self.duration(*sso_discovery_ttl);
        self.duration(*refresh_before);
        self.opt_str(default_region.as_deref());
        let VaultSettings {
            backend,
            path,
            passphrase_command,
        } = vault;
        self.u8(match backend {
            Backend::File => 0,
            Backend::Keyring => 1,
            Backend::CredentialsFile => 2,
        });
        match path {
            None => self.u8(0),
            Some(p) => {
                self.u8(1);
                self.path(p);
            }
        }
        self.opt_str(passphrase_command.as_deref());
        self.u8(match subshell_credentials {
            SubshellCredentials::Server => 0,
            SubshellCredentials::Env => 1,
        });
    }
    fn source(&mut self, s: &Source) {
        let Source {
            name,
            region,
            origin,
            kind,
        } = s;
        self.str(name);
        self.opt_str(region.as_deref());
        self.origin(origin);
        match kind {
            SourceKind::IamUser(IamUser {
                mfa_serial,
                mfa_process,
                session_duration,
                credentials_profile,
            }) => {
                self.u8(0);
                self.opt_str(mfa_serial.as_deref());
                self.opt_str(mfa_process.as_deref());
                self.duration(*session_duration);
                self.str(credentials_profile);
            }
            SourceKind::Sso(SsoSession {
                cache_id,
                start_url,
                region,
                scopes,
            }) => {
                self.u8(1);
                self.str(cache_id);
                self.str(start_url);
                self.str(region);
                self.u32(u32::try_from(scopes.len()).unwrap_or(u32::MAX));
                for sc in scopes {
                    self.str(sc);
                }
            }
        }
    }
    fn profile(&mut self, p: &Profile) {
        let Profile {
            name,
            source,
            region,
            kind,
            account,
            mfa_serial,
            origin,
        } = p;
        self.str(name);
        self.str(source);
        self.opt_str(region.as_deref());
        match kind {
            ProfileKind::Session => self.u8(0),
            ProfileKind::Sso {
                account_id,
                role_name,
            } => {
                self.u8(2);
                self.str(account_id);
                self.str(role_name);
            }
            ProfileKind::Role(r) => {
                let RoleSpec {
                    role_arn,
                    external_id,
                    session_name,
                    duration_seconds,
                    parent,
                } = r;
                self.u8(1);
                self.str(role_arn);
                self.opt_str(external_id.as_deref());
                self.opt_str(session_name.as_deref());
                match duration_seconds {
                    None => self.u8(0),
                    Some(d) => {
                        self.u8(1);
                        self.u32(*d);
                    }
                }
                match parent {
                    Parent::Source => self.u8(0),
                    Parent::Profile(n) => {
                        self.u8(1);
                        self.str(n);
                    }
                }
            }
        }
        let Account {
            id,
            name: account_name,
            group,
            tags,
        } = account;
        self.opt_str(id.as_deref());
        self.opt_str(account_name.as_deref());
        self.opt_str(group.as_deref());
        self.u32(u32::try_from(tags.len()).unwrap_or(u32::MAX));
        for t in tags {
            self.str(t);
        }
        self.opt_str(mfa_serial.as_deref());
        self.origin(origin);
    }
}

/// Reads what [`Writer`] wrote; every read is bounds-checked, and any
/// surprise is `None`.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b }
    }
    fn end(&self) -> Option<()> {
        self.b.is_empty().then_some(())
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn str(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_string)
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => f(self).map(Some),
            _ => None,
        }
    }
    fn opt_str(&mut self) -> Option<Option<String>> {
        self.opt(Self::str)
    }
    fn path(&mut self) -> Option<PathBuf> {
        Some(PathBuf::from(OsStr::from_bytes(self.bytes()?)))
    }
    fn duration(&mut self) -> Option<Duration> {
        let secs = self.u64()?;
        let nanos = self.u32()?;
        (nanos < 1_000_000_000).then(|| Duration::new(secs, nanos))
    }
    fn origin(&mut self) -> Option<Origin> {
        Some(Origin {
            file: self.path()?,
            line: usize::try_from(self.u64()?).ok()?,
        })
    }
    fn settings(&mut self) -> Option<Settings> {
        let session_duration = self.duration()?;
        let sso_discovery_ttl = self.duration()?;
        let refresh_before = self.duration()?;
        let default_region = self.opt_str()?;
        let backend = match self.u8()? {
            0 => Backend::File,
            1 => Backend::Keyring,
            2 => Backend::CredentialsFile,
            _ => return None,
        };
        let path = self.opt(Self::path)?;
        let passphrase_command = self.opt_str()?;
        let subshell_credentials = match self.u8()? {
            0 => SubshellCredentials::Server,
            1 => SubshellCredentials::Env,
            _ => return None,
        };
        Some(Settings {
            session_duration,
            refresh_before,
            default_region,
            vault: VaultSettings {
                backend,
                path,
                passphrase_command,
            },
            subshell_credentials,
            sso_discovery_ttl,
        })
    }
    fn source(&mut self) -> Option<Source> {
        let name = self.str()?;
        let region = self.opt_str()?;
        let origin = self.origin()?;
        let kind = match self.u8()? {
            0 => SourceKind::IamUser(IamUser {
                mfa_serial: self.opt_str()?,
                mfa_process: self.opt_str()?,
                session_duration: self.duration()?,
                credentials_profile: self.str()?,
            }),
            1 => {
                let cache_id = self.str()?;
                let start_url = self.str()?;
                let region = self.str()?;
                let n = self.u32()?;
                let mut scopes = Vec::new();
                for _ in 0..n {
                    scopes.push(self.str()?);
                }
                SourceKind::Sso(SsoSession {
                    cache_id,
                    start_url,
                    region,
                    scopes,
                })
            }
            _ => return None,
        };
        Some(Source {
            name,
            region,
            origin,
            kind,
        })
    }
    fn profile(&mut self) -> Option<Profile> {
        let name = self.str()?;
        let source = self.str()?;
        let region = self.opt_str()?;
        let kind = match self.u8()? {
            0 => ProfileKind::Session,
            2 => ProfileKind::Sso {
                account_id: self.str()?,
                role_name: self.str()?,
            },
            1 => ProfileKind::Role(RoleSpec {
                role_arn: self.str()?,
                external_id: self.opt_str()?,
                session_name: self.opt_str()?,
                duration_seconds: self.opt(Self::u32)?,
                parent: match self.u8()? {
                    0 => Parent::Source,
                    1 => Parent::Profile(self.str()?),
                    _ => return None,
                },
            }),
            _ => return None,
        };
        let id = self.opt_str()?;
        let account_name = self.opt_str()?;
        let group = self.opt_str()?;
        let n = self.u32()?;
        let mut tags = Vec::new();
        for _ in 0..n {
            tags.push(self.str()?);
        }
        Some(Profile {
            name,
            source,
            region,
            kind,
            account: Account {
                id,
                name: account_name,
                group,
                tags,
            },
            mfa_serial: self.opt_str()?,
            origin: self.origin()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_does_not_depend_on_how_the_bytes_are_split() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = fnv(&data);
        for cuts in [
            &[1usize, 2, 3][..],
            &[7, 8, 9],
            &[0, 13, 500, 999],
            &[4, 4, 4],
        ] {
            let mut h = Fnv::new();
            let mut at = 0;
            for &c in cuts {
                let c = c.max(at);
                h.bytes(&data[at..c]);
                at = c;
            }
            h.bytes(&data[at..]);
            assert_eq!(h.finish(), whole, "{cuts:?}");
        }
    }

    #[test]
    fn the_hash_sees_a_trailing_zero_and_any_flipped_bit() {
        assert_ne!(fnv(b"ab"), fnv(b"ab\0"));
        assert_ne!(fnv(b""), fnv(b"\0"));
        let data = vec![0x5au8; 64];
        let base = fnv(&data);
        for byte in [0, 7, 8, 31, 63] {
            for bit in 0..8 {
                let mut d = data.clone();
                d[byte] ^= 1 << bit;
                assert_ne!(fnv(&d), base, "byte {byte} bit {bit}");
            }
        }
        // Two flips of the same top bit in different words do not cancel.
        let mut d = data.clone();
        d[7] ^= 0x80;
        d[15] ^= 0x80;
        assert_ne!(fnv(&d), base);
    }

    /// The three configuration files in `d`.
    fn paths_in(d: &std::path::Path) -> Paths {
        Paths {
            aws_config: d.join("config"),
            aws_credentials: d.join("credentials"),
            rolepick: d.join("config.toml"),
            rolepick_explicit: true,
        }
    }

    /// A configuration with every kind of record: a key holder, a role, a
    /// chained role, a broken profile, config.toml settings and accounts.
    fn setup() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("config"),
            "[profile primary]\nregion = us-east-1\nmfa_serial = arn:aws:iam::111122223333:mfa/p\n\n[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/admin\nsource_profile = primary\nexternal_id = ext\nduration_seconds = 7200\n\n[profile dev]\nrole_arn = arn:aws:iam::444455556666:role/dev\nsource_profile = admin\n\n[profile orphan]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = nowhere\n",
        )
        .unwrap();
        std::fs::write(
            d.join("credentials"),
            "[primary]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t\n",
        )
        .unwrap();
        // As rolepick wants it: a key others can read is refused.
        std::fs::set_permissions(
            d.join("credentials"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        std::fs::write(
            d.join("config.toml"),
            "[settings]\nsession_duration = \"8h\"\ndefault_region = \"eu-west-1\"\n\n[vault]\nbackend = \"keyring\"\n\n[[source]]\nname = \"ops\"\n\n[[account]]\nname = \"prod\"\nid = \"777788889999\"\nsource = \"ops\"\ngroup = \"production\"\ntags = [\"critical\", \"eu\"]\nroles = [\"deploy\"]\n",
        )
        .unwrap();
        let paths = paths_in(d);
        (dir, paths)
    }

    fn later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(3600)
    }

    fn snapshot(dir: &Path, paths: &Paths, notes: &[Note]) -> (Model, Snapshot) {
        let (model, read) = super::super::load_full(paths).unwrap();
        // "Now" an hour later: nothing changed within the racy window.
        let bytes = encode(paths, &read.unwrap(), notes, &model, later()).unwrap();
        let file = dir.join("snap");
        std::fs::write(&file, bytes).unwrap();
        let snap = Snapshot::open(File::open(&file).unwrap(), paths).expect("valid snapshot");
        (model, snap)
    }

    #[test]
    fn snapshot_gives_back_the_whole_model_and_the_notes() {
        let (dir, paths) = setup();
        let notes = [Note::Warn("w".into()), Note::Debug("d".into())];
        let (model, snap) = snapshot(dir.path(), &paths, &notes);
        assert!(model.profiles.len() >= 4 && !model.broken.is_empty());
        assert_eq!(snap.model().unwrap(), model);
        assert_eq!(snap.notes(), notes);
    }

    #[test]
    fn snapshot_for_one_profile_holds_its_chain_and_nothing_else() {
        let (dir, paths) = setup();
        let (model, snap) = snapshot(dir.path(), &paths, &[]);
        let m = snap.model_for("dev").unwrap();
        let names: Vec<&str> = m.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["dev", "admin"]);
        assert_eq!(m.profile("dev"), model.profile("dev"));
        assert_eq!(m.profile("admin"), model.profile("admin"));
        assert_eq!(m.sources, model.sources);
        assert_eq!(m.settings, model.settings);
        let m = snap.model_for("orphan").unwrap();
        assert!(m.profiles.is_empty());
        assert_eq!(m.broken.get("orphan"), model.broken.get("orphan"));
        assert!(snap.model_for("no-such-profile").is_none());
    }

    #[test]
    fn inputs_changed_within_the_racy_window_are_not_snapshotted() {
        let (_dir, paths) = setup();
        let (model, read) = super::super::load_full(&paths).unwrap();
        let read = read.unwrap();
        assert!(encode(&paths, &read, &[], &model, SystemTime::now()).is_none());
        // A file stamped in the future (clock skew) is not trusted either.
        let past = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert!(encode(&paths, &read, &[], &model, past).is_none());
    }

    #[test]
    fn snapshot_of_other_files_is_not_used() {
        let (dir, paths) = setup();
        let _ = snapshot(dir.path(), &paths, &[]);
        let (other_dir, other) = setup();
        let file = File::open(dir.path().join("snap")).unwrap();
        assert!(Snapshot::open(file, &other).is_none());
        drop(other_dir);
    }

    #[test]
    fn snapshot_keeps_identity_center_sources_and_roles() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("config"),
            "[profile sso-dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\n\n[profile chained]\nrole_arn = arn:aws:iam::444455556666:role/x\nsource_profile = sso-dev\n\n[sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n",
        )
        .unwrap();
        std::fs::write(
            d.join("config.toml"),
            "[settings]\nsso_discovery_ttl = \"2h\"\n",
        )
        .unwrap();
        let paths = paths_in(d);
        let (model, snap) = snapshot(d, &paths, &[]);
        assert!(model.sources["corp"].sso().is_some());
        assert_eq!(
            model.settings.sso_discovery_ttl,
            Duration::from_secs(2 * 3600)
        );
        assert_eq!(snap.model().unwrap(), model);
        let m = snap.model_for("chained").unwrap();
        let names: Vec<&str> = m.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["chained", "sso-dev"]);
        assert_eq!(m.profile("sso-dev"), model.profile("sso-dev"));
        assert_eq!(m.sources, model.sources);
    }
}
