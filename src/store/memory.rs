//! The embedded store: the events in memory (the domain's `Services`), and the events recorded
//! while it runs, appended to `EVENTS_FILE` (JSON lines, synced) before they are acknowledged.
//!
//! Readers take the current snapshot (an `Arc` clone under a lock held only for that); a writer
//! builds the next snapshot beside it and swaps it in, so a read never waits on a write longer
//! than the swap. Writers take turns.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::events::{
    AllowedActions, DeliveryActions, EventRecord, IdempotencyKey, NewEvent, RawEvent, Services,
    Sha, Timestamp,
};

use super::outcome::{Recorded, WriteFailure};

pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    log: RwLock<Arc<Services>>,
    writer: Mutex<Writer>,
}

struct Writer {
    target: Target,
    next_id: u64,
    keys: Remembered,
}

/// Where recorded events go besides memory.
enum Target {
    /// No `EVENTS_FILE`: recorded events live until the process stops.
    Memory,
    /// A JSON-lines file, and the idempotency keys' file beside it.
    File {
        events: LineFile,
        keys: LineFile,
        /// Held while the store lives: one writer per file, whatever process it is.
        _lock: File,
    },
    /// A JSON-array file cannot be appended to: recording is refused.
    ReadOnly,
}

/// The idempotency keys of an `EVENTS_FILE`, beside it: `<EVENTS_FILE>.keys`.
pub fn keys_path(events_file: &Path) -> PathBuf {
    let mut name = events_file.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

/// An `EVENTS_FILE`, taken before it is read: a JSON-lines file locked for this process alone
/// (so that nothing appends to it between the read and the first record), and a last line cut
/// short by a crash (never acknowledged: a line is acknowledged once synced whole) removed.
pub struct EventsFile {
    path: PathBuf,
    /// `None` for a JSON array, which is only read.
    lock: Option<File>,
}

impl EventsFile {
    pub fn open(path: &Path) -> Result<Self, String> {
        if is_json_array(path)? {
            return Ok(Self {
                path: path.to_owned(),
                lock: None,
            });
        }
        let lock = lock_events_file(path, false)?;
        cut_torn_last_line(path)?;
        Ok(Self {
            path: path.to_owned(),
            lock: Some(lock),
        })
    }
}

impl MemoryStore {
    /// `events` loaded from `file` (or the built-in sample, when `None`), with the delivery
    /// metrics reading `actions`. Their index is built here, at load, rather than by the first
    /// request. The idempotency keys recorded with a JSON-lines file in the last 24 hours are
    /// read back.
    pub fn new(events: Services, file: Option<EventsFile>, actions: DeliveryActions) -> Self {
        let log = events.with_delivery_actions(actions);
        log.delivery(None);
        let mut keys = Remembered::default();
        let target = match file {
            None => Target::Memory,
            Some(EventsFile { lock: None, .. }) => Target::ReadOnly,
            Some(EventsFile {
                path,
                lock: Some(lock),
            }) => {
                let keys_file = keys_path(&path);
                let now = chrono::Utc::now().timestamp();
                keys = Remembered::read(&keys_file, &log, now);
                // Compacted at start: the file then grows by a line per keyed record.
                if let Err(error) = keys.rewrite(&keys_file) {
                    tracing::warn!(%error, "cannot rewrite the idempotency keys' file; keeping it");
                }
                Target::File {
                    events: LineFile::new(path),
                    keys: LineFile::new(keys_file),
                    _lock: lock,
                }
            }
        };
        let next_id = log.max_id().map_or(1, |id| id.saturating_add(1));
        Self {
            shared: Arc::new(Shared {
                log: RwLock::new(Arc::new(log)),
                writer: Mutex::new(Writer {
                    target,
                    next_id,
                    keys,
                }),
            }),
        }
    }

    /// The events as they are now; later records do not change this snapshot.
    pub fn snapshot(&self) -> Arc<Services> {
        self.shared.current()
    }

    /// Records `new` (or answers a retry of `key`) on a blocking thread: the file is synced.
    pub async fn record(
        &self,
        new: NewEvent,
        key: Option<IdempotencyKey>,
        received: Timestamp,
        allowed: Arc<AllowedActions>,
    ) -> Result<Recorded, WriteFailure> {
        let mut recorded = self.record_all(vec![(new, key)], received, allowed).await?;
        Ok(recorded.pop().expect("one answer per event"))
    }

    /// Records `batch` in one append (or answers each retried key), on a blocking thread.
    pub async fn record_all(
        &self,
        batch: Vec<(NewEvent, Option<IdempotencyKey>)>,
        received: Timestamp,
        allowed: Arc<AllowedActions>,
    ) -> Result<Vec<Recorded>, WriteFailure> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.record(batch, received, &allowed))
            .await
            .map_err(|error| {
                tracing::error!(%error, "recording an event failed");
                WriteFailure::Internal
            })?
    }
}

impl Shared {
    fn current(&self) -> Arc<Services> {
        self.log
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records `batch` in one append, or answers each retried key with what it recorded.
    fn record(
        &self,
        batch: Vec<(NewEvent, Option<IdempotencyKey>)>,
        received: Timestamp,
        allowed: &AllowedActions,
    ) -> Result<Vec<Recorded>, WriteFailure> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.keys.forget_expired(received);
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let mut raws: Vec<RawEvent> = Vec::new();
        let mut key_lines: Vec<u8> = Vec::new();
        let mut fresh_keys: Vec<(IdempotencyKey, String, usize)> = Vec::new();
        for (new, key) in batch {
            let fingerprint = new.fingerprint();
            if let Some(key) = &key {
                let same = |earlier: &str| match earlier == fingerprint
                    || !key.is_same_request_required()
                {
                    true => Ok(()),
                    false => Err(WriteFailure::KeyReused),
                };
                if let Some(earlier) = writer.keys.by_key.get(key) {
                    same(&earlier.fingerprint)?;
                    answers.push(Answer::Earlier(earlier.event.clone()));
                    continue;
                }
                let in_batch = fresh_keys.iter().find(|(fresh, _, _)| fresh == key);
                if let Some((_, earlier, at)) = in_batch {
                    same(earlier)?;
                    answers.push(Answer::Repeated(*at));
                    continue;
                }
            }
            allowed.check(&new.action)?;
            let raw = RawEvent {
                id: writer.next_id + raws.len() as u64,
                sha: new.sha,
                date: new.timestamp.unwrap_or(received),
                action: new.action,
                engineer: new.engineer,
                service: Some(new.service),
            };
            if let Some(key) = key {
                let line = KeyLine::new(&key, fingerprint.clone(), received, raw.clone());
                key_lines.extend(json_line(&line));
                fresh_keys.push((key, fingerprint, raws.len()));
            }
            answers.push(Answer::New(raws.len()));
            raws.push(raw);
        }
        if !raws.is_empty() {
            // The next snapshot first: a record it refuses is never written, so the file never
            // holds a line its own next start would refuse.
            let next = self.current().with(raws.clone()).map_err(|error| {
                tracing::error!(%error, "the memory store refused a recorded event");
                WriteFailure::Internal
            })?;
            // The keys before the events: a key whose event never reached the file is dropped
            // when the keys are read back, while an event without its key would be recorded
            // again.
            writer.target.append(&raws, &key_lines)?;
            *self.log.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
            writer.next_id += raws.len() as u64;
        }
        let recorded: Vec<EventRecord> = raws.into_iter().map(EventRecord::recorded).collect();
        for (key, fingerprint, at) in fresh_keys {
            (writer.keys).remember(key, fingerprint, recorded[at].clone(), received);
        }
        Ok(answers
            .into_iter()
            .map(|answer| match answer {
                Answer::Earlier(event) => Recorded {
                    event,
                    replayed: true,
                },
                Answer::Repeated(at) => Recorded {
                    event: recorded[at].clone(),
                    replayed: true,
                },
                Answer::New(at) => Recorded {
                    event: recorded[at].clone(),
                    replayed: false,
                },
            })
            .collect())
    }
}

/// What one event of a batch is answered with.
enum Answer {
    /// What its key recorded before.
    Earlier(EventRecord),
    /// What an event before it in the batch, under the same key, records.
    Repeated(usize),
    /// The batch's new event at this position.
    New(usize),
}

impl Target {
    /// Appends the events as JSON lines (and first their keys' lines), each file synced once.
    fn append(&mut self, raws: &[RawEvent], key_lines: &[u8]) -> Result<(), WriteFailure> {
        let (events, keys) = match self {
            Target::Memory => return Ok(()),
            Target::ReadOnly => return Err(WriteFailure::ReadOnly),
            Target::File { events, keys, .. } => (events, keys),
        };
        if !key_lines.is_empty() {
            keys.append(key_lines)?;
        }
        events.append(&raws.iter().flat_map(json_line).collect::<Vec<u8>>())
    }
}

fn json_line(value: &impl serde::Serialize) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).expect("a line serializes");
    line.push(b'\n');
    line
}

/// A JSON-lines file appended to a synced line at a time. A failed append is cut off again and
/// the file reopened before the next, so the file never keeps half a line, even when the cut
/// itself failed the first time.
struct LineFile {
    path: PathBuf,
    file: Option<File>,
    /// After a failed append: the length the file had before it.
    cut_to: Option<u64>,
}

impl LineFile {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            cut_to: None,
        }
    }

    fn append(&mut self, line: &[u8]) -> Result<(), WriteFailure> {
        self.try_append(line).map_err(|error| {
            tracing::error!(path = %self.path.display(), %error, "cannot append to the events file");
            WriteFailure::Unavailable
        })
    }

    fn try_append(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(open_for_append(&self.path, self.cut_to)?);
            self.cut_to = None;
        }
        let out = self.file.as_mut().expect("opened above");
        let length = out.metadata()?.len();
        let written = out.write_all(line).and_then(|()| out.sync_data());
        if written.is_err() {
            self.cut_to = Some(length);
            if out.set_len(length).and_then(|()| out.sync_data()).is_ok() {
                self.cut_to = None;
            }
            self.file = None;
        }
        written
    }
}

/// Opens `path` to append lines, creating it: first cut back to `cut_to` (what a failed append
/// left), then a last line without its newline gets one.
fn open_for_append(path: &Path, cut_to: Option<u64>) -> std::io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    if let Some(length) = cut_to {
        file.set_len(length)?;
        file.sync_data()?;
    }
    let length = file.metadata()?.len();
    if length > 0 {
        let mut last = [0u8];
        file.seek(SeekFrom::Start(length - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
        }
    }
    Ok(file)
}

/// Takes the exclusive lock on an `EVENTS_FILE` (an advisory `flock`, released when the
/// returned file closes, the process's end included): one server or one `import` at a time.
/// Opened to read only (a read-only file still serves reads), or created if `create`.
pub fn lock_events_file(path: &Path, create: bool) -> Result<File, String> {
    let file = OpenOptions::new()
        .read(true)
        .append(create)
        .create(create)
        .open(path)
        .map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(format!(
            "{} is in use by another process (a server with this EVENTS_FILE, or an import): \
             stop it first; two writers would give out the same ids",
            path.display()
        )),
        Err(TryLockError::Error(e)) => Err(format!("{}: cannot lock: {e}", path.display())),
    }
}

/// Whether the file's first byte that is not white space opens an array, as the loader reads
/// it (however much white space comes first).
fn is_json_array(path: &Path) -> Result<bool, String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    let first = std::io::BufReader::new(file)
        .bytes()
        .find(|byte| !matches!(byte, Ok(b) if b.is_ascii_whitespace()));
    match first {
        Some(Err(e)) => Err(format!("{}: cannot read: {e}", path.display())),
        first => Ok(matches!(first, Some(Ok(b'[')))),
    }
}

/// A last line without its newline that is not a JSON value is what a crash (a power cut)
/// left of an append: never acknowledged, since a record is answered only once its whole line
/// is synced. It is cut off, with a warning, instead of stopping every start. A complete record
/// without its newline (a file edited by hand) is kept.
fn cut_torn_last_line(path: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = File::open(path).map_err(fail)?;
    let length = file.metadata().map_err(fail)?.len();
    let tail_start = length.saturating_sub(64 * 1024);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(tail_start)).map_err(fail)?;
    file.read_to_end(&mut tail).map_err(fail)?;
    if tail.last().is_none_or(|&b| b == b'\n') {
        return Ok(());
    }
    let Some(newline) = tail.iter().rposition(|&b| b == b'\n') else {
        // A file of one line, or a line longer than the tail read: the loader says what is wrong.
        return Ok(());
    };
    if serde_json::from_slice::<serde_json::Value>(&tail[newline + 1..]).is_ok() {
        return Ok(());
    }
    let keep = tail_start + newline as u64 + 1;
    tracing::warn!(
        path = %path.display(),
        bytes = length - keep,
        "cutting a torn last line (an append a crash cut short; it was never acknowledged)"
    );
    let out = OpenOptions::new().write(true).open(path).map_err(fail)?;
    out.set_len(keep)
        .and_then(|()| out.sync_all())
        .map_err(fail)
}

/// Idempotency keys within their window (24 hours, a week for a delivery), with what each
/// recorded. With `EVENTS_FILE` they are also in `<EVENTS_FILE>.keys`, so that a retry after a
/// restart is still answered.
#[derive(Default)]
struct Remembered {
    by_key: HashMap<IdempotencyKey, Earlier>,
    /// By the instant each is forgotten.
    expiry: BTreeSet<(Timestamp, IdempotencyKey)>,
}

struct Earlier {
    fingerprint: String,
    event: EventRecord,
    received: Timestamp,
}

/// One line of the keys file.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeyLine {
    key: String,
    /// A delivered event's identity, not a client's `Idempotency-Key` (absent: a client's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    delivery: bool,
    /// A pushed commit's identity, kept for good.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    commit: bool,
    fingerprint: String,
    received: Timestamp,
    event: RawEvent,
}

impl KeyLine {
    fn new(
        key: &IdempotencyKey,
        fingerprint: String,
        received: Timestamp,
        event: RawEvent,
    ) -> Self {
        Self {
            key: key.name().to_owned(),
            delivery: matches!(key, IdempotencyKey::Delivery(_)),
            commit: matches!(key, IdempotencyKey::Commit(_)),
            fingerprint,
            received,
            event,
        }
    }

    fn key(&self) -> IdempotencyKey {
        let name = self.key.clone();
        match (self.commit, self.delivery) {
            (true, _) => IdempotencyKey::Commit(name),
            (false, true) => IdempotencyKey::Delivery(name),
            (false, false) => IdempotencyKey::Request(name),
        }
    }
}

impl Remembered {
    fn remember(
        &mut self,
        key: IdempotencyKey,
        fingerprint: String,
        event: EventRecord,
        received: Timestamp,
    ) {
        if let Some(window) = key.window() {
            self.expiry.insert((received + window, key.clone()));
        }
        let earlier = Earlier {
            fingerprint,
            event,
            received,
        };
        self.by_key.insert(key, earlier);
    }

    fn forget_expired(&mut self, now: Timestamp) {
        while let Some((expires, _)) = self.expiry.first() {
            if *expires > now {
                break;
            }
            let (_, key) = self.expiry.pop_first().expect("a first entry");
            self.by_key.remove(&key);
        }
    }

    /// The keys file's keys within their window whose event `log` holds as it was recorded
    /// (a key whose event never reached the events file is dropped); a line that does not
    /// parse, the end of an append cut short, is skipped.
    fn read(path: &Path, log: &Services, now: Timestamp) -> Self {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(error) => {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), %error, "cannot read the idempotency keys");
                }
                return Self::default();
            }
        };
        let mut lines: Vec<KeyLine> = Vec::new();
        for line in text.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
            match serde_json::from_slice::<KeyLine>(line) {
                Ok(line) => lines.push(line),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "skipping a line of the keys file")
                }
            }
        }
        lines.sort_by_key(|line| line.received);
        let mut keys = Self::default();
        for line in lines {
            let key = line.key();
            let stored = log.event(line.event.id).as_ref().map(EventRecord::from);
            // A line written before events had services names none: its event's, then.
            let service = line
                .event
                .service
                .or_else(|| Some(stored.as_ref()?.service.clone()));
            let event = EventRecord {
                id: line.event.id,
                timestamp: line.event.date,
                sha: Sha::new(&line.event.sha),
                action: line.event.action,
                engineer: line.event.engineer,
                service: service.unwrap_or_default(),
            };
            let fresh = key.is_remembered(line.received, now);
            // A key written again after its first event's append failed: the first that holds.
            if fresh && stored.as_ref() == Some(&event) && !keys.by_key.contains_key(&key) {
                keys.remember(key, line.fingerprint, event, line.received);
            }
        }
        keys
    }

    /// Writes the keys file anew with only these keys: written beside it, synced, then renamed
    /// over it, so that a crash leaves the old file or the new one.
    fn rewrite(&self, path: &Path) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
        let mut fresh = path.as_os_str().to_owned();
        fresh.push(".new");
        let fresh = PathBuf::from(fresh);
        let mut out = File::create(&fresh).map_err(fail)?;
        let mut keys: Vec<_> = self.by_key.iter().collect();
        keys.sort_by_key(|(_, earlier)| earlier.received);
        for (key, earlier) in keys {
            let event = RawEvent::from(&earlier.event.view());
            let line = KeyLine::new(key, earlier.fingerprint.clone(), earlier.received, event);
            out.write_all(&json_line(&line)).map_err(fail)?;
        }
        out.sync_all().map_err(fail)?;
        std::fs::rename(&fresh, path).map_err(fail)?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|dir| dir.sync_all())
                .map_err(fail)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, content: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join("pipeline-events-memory-store");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn an_append_after_a_failure_first_cuts_what_the_failure_left() {
        // A failed append whose cut failed too left half a line: the next append, on a file
        // opened anew, removes it before writing.
        let path = scratch("cut", b"{\"a\":1}\n{\"half");
        let mut file = LineFile::new(path.clone());
        file.cut_to = Some(8);
        file.try_append(b"{\"b\":2}\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(file.cut_to, None);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_failed_append_drops_the_handle_and_remembers_where_to_cut() {
        // Every write to /dev/full fails (ENOSPC), and so does cutting it.
        let mut file = LineFile::new(PathBuf::from("/dev/full"));
        assert!(file.try_append(b"1\n").is_err());
        assert!(file.file.is_none(), "the next append opens the file anew");
        assert_eq!(file.cut_to, Some(0), "and first cuts it back");
    }
}
