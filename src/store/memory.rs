//! The embedded store: the events in memory (the domain's `EventLog`), and the events recorded
//! while it runs, appended to `EVENTS_FILE` (JSON lines, synced) before they are acknowledged.
//!
//! Readers take the current snapshot (an `Arc` clone under a lock held only for that); a writer
//! builds the next snapshot beside it and swaps it in, so a read never waits on a write longer
//! than the swap. Writers take turns.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::events::{
    DeliveryActions, EventLog, EventRecord, EventStore, NewEvent, RawEvent, Sha, Timestamp,
};

use super::{IDEMPOTENCY_WINDOW_SECONDS, Recorded, WriteFailure};

pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    log: RwLock<Arc<EventLog>>,
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
    /// A JSON-lines file, opened on the first record.
    File { path: PathBuf, file: Option<File> },
    /// A JSON-array file cannot be appended to: recording is refused.
    ReadOnly,
}

impl MemoryStore {
    /// `events` loaded from `events_file` (or the built-in sample, when `None`), with the
    /// delivery metrics on the default action names.
    pub fn new(events: EventStore, events_file: Option<&Path>) -> Self {
        Self::with_delivery_actions(events, events_file, DeliveryActions::default())
    }

    /// As `new`, with the delivery metrics reading `actions`. Their index is built here, at
    /// load, rather than by the first request.
    pub fn with_delivery_actions(
        events: EventStore,
        events_file: Option<&Path>,
        actions: DeliveryActions,
    ) -> Self {
        let target = match events_file {
            None => Target::Memory,
            Some(path) if is_json_array(path) => Target::ReadOnly,
            Some(path) => Target::File {
                path: path.to_owned(),
                file: None,
            },
        };
        let log = EventLog::new(events).with_delivery_actions(actions);
        log.delivery();
        let next_id = log.max_id().map_or(1, |id| id.saturating_add(1));
        Self {
            shared: Arc::new(Shared {
                log: RwLock::new(Arc::new(log)),
                writer: Mutex::new(Writer {
                    target,
                    next_id,
                    keys: Remembered::default(),
                }),
            }),
        }
    }

    /// The events as they are now; later records do not change this snapshot.
    pub fn snapshot(&self) -> Arc<EventLog> {
        self.shared.current()
    }

    /// Records `new` (or answers a retry of `key`) on a blocking thread: the file is synced.
    pub async fn record(
        &self,
        new: NewEvent,
        key: Option<String>,
        received: Timestamp,
    ) -> Result<Recorded, WriteFailure> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.record(new, key, received))
            .await
            .map_err(|error| {
                tracing::error!(%error, "recording an event failed");
                WriteFailure::Internal
            })?
    }
}

impl Shared {
    fn current(&self) -> Arc<EventLog> {
        self.log
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(
        &self,
        new: NewEvent,
        key: Option<String>,
        received: Timestamp,
    ) -> Result<Recorded, WriteFailure> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let fingerprint = new.fingerprint();
        if let Some(key) = &key {
            writer
                .keys
                .forget_before(received - IDEMPOTENCY_WINDOW_SECONDS);
            if let Some(earlier) = writer.keys.by_key.get(key) {
                return if earlier.fingerprint == fingerprint {
                    Ok(Recorded {
                        event: earlier.event.clone(),
                        replayed: true,
                    })
                } else {
                    Err(WriteFailure::KeyReused)
                };
            }
        }
        let raw = RawEvent {
            id: writer.next_id,
            sha: new.sha,
            date: new.timestamp.unwrap_or(received),
            action: new.action,
            engineer: new.engineer,
        };
        writer.target.append(&raw)?;
        let next = self.current().with(raw.clone()).map_err(|error| {
            tracing::error!(%error, "the memory store refused a recorded event");
            WriteFailure::Internal
        })?;
        *self.log.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        writer.next_id += 1;
        let event = EventRecord {
            id: raw.id,
            timestamp: raw.date,
            sha: Sha::new(&raw.sha),
            action: raw.action,
            engineer: raw.engineer,
        };
        if let Some(key) = key {
            writer
                .keys
                .remember(key, fingerprint, event.clone(), received);
        }
        Ok(Recorded {
            event,
            replayed: false,
        })
    }
}

impl Target {
    /// Appends the event as one JSON line and syncs it; a failed write is cut off again, so
    /// the file never keeps half a line.
    fn append(&mut self, raw: &RawEvent) -> Result<(), WriteFailure> {
        let (path, file) = match self {
            Target::Memory => return Ok(()),
            Target::ReadOnly => return Err(WriteFailure::ReadOnly),
            Target::File { path, file } => (path, file),
        };
        let unavailable = |path: &Path, error: std::io::Error| {
            tracing::error!(path = %path.display(), %error, "cannot append to EVENTS_FILE");
            WriteFailure::Unavailable
        };
        if file.is_none() {
            *file = Some(open_for_append(path).map_err(|e| unavailable(path, e))?);
        }
        let out = file.as_mut().expect("opened above");
        let mut line = serde_json::to_vec(raw).expect("an event serializes");
        line.push(b'\n');
        let length = out.metadata().map_err(|e| unavailable(path, e))?.len();
        if let Err(error) = out.write_all(&line).and_then(|()| out.sync_data()) {
            let _ = out.set_len(length);
            return Err(unavailable(path, error));
        }
        Ok(())
    }
}

/// Opens `path` to append lines, creating it; a last line without its newline gets one first.
fn open_for_append(path: &Path) -> std::io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
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

fn is_json_array(path: &Path) -> bool {
    let mut start = [0u8; 256];
    let Ok(read) = File::open(path).and_then(|mut file| file.read(&mut start)) else {
        return false;
    };
    start[..read].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Idempotency keys seen in the last 24 hours, with what each recorded. Kept in memory: a
/// restart forgets them (the README says so).
#[derive(Default)]
struct Remembered {
    by_key: HashMap<String, Earlier>,
    order: VecDeque<(Timestamp, String)>,
}

struct Earlier {
    fingerprint: String,
    event: EventRecord,
}

impl Remembered {
    fn remember(&mut self, key: String, fingerprint: String, event: EventRecord, at: Timestamp) {
        self.order.push_back((at, key.clone()));
        self.by_key.insert(key, Earlier { fingerprint, event });
    }

    fn forget_before(&mut self, oldest: Timestamp) {
        while let Some((at, _)) = self.order.front() {
            if *at > oldest {
                break;
            }
            let (_, key) = self.order.pop_front().expect("a front entry");
            self.by_key.remove(&key);
        }
    }
}
