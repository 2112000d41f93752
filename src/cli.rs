//! Subcommands of the one binary, for operators: load a file into the configured store, create
//! the DynamoDB table, check (and repair) its aggregates. Without a subcommand the binary
//! serves the API.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Config, StoreConfig};
use crate::events::{AllowedActions, LoadError, RawEvent, SERVICE_RULE, Services, is_service_name};
use crate::store::dynamodb::DynamoDbStore;
use crate::store::dynamodb::import::import;
use crate::store::dynamodb::maintenance::verify;
use crate::store::dynamodb::table::create_table;

pub const USAGE: &str = "\
usage: pipeline-events-api                    serve the API (locally, or under Lambda)
       pipeline-events-api import FILE [--service NAME]
                                              load FILE (JSON array or JSON lines) into the store;
                                              records naming no service are NAME's (default:
                                              DEFAULT_SERVICE)
       pipeline-events-api create-table       create EVENTS_TABLE as infra/dynamodb.tf does
       pipeline-events-api verify [--rebuild] check the table's aggregates against its events

The store is the one the environment configures (EVENT_STORE, EVENTS_TABLE, EVENTS_FILE);
AWS_ENDPOINT_URL_DYNAMODB points the DynamoDB commands at a local endpoint.";

pub enum Command {
    /// A file, and the service of its records that name none.
    Import(PathBuf, Option<String>),
    CreateTable,
    Verify {
        rebuild: bool,
    },
    Help,
}

/// The subcommand in `args` (the program name excluded), or `None` to serve.
pub fn parse(args: Vec<OsString>) -> Result<Option<Command>, String> {
    use lexopt::prelude::*;
    if args.is_empty() {
        return Ok(None);
    }
    let mut parser = lexopt::Parser::from_args(args);
    let error = |e: lexopt::Error| e.to_string();
    let command = match parser.next().map_err(error)? {
        Some(Value(name)) => name.string().map_err(error)?,
        Some(Long("help") | Short('h')) => return Ok(Some(Command::Help)),
        Some(other) => return Err(other.unexpected().to_string()),
        None => return Ok(None),
    };
    let command = match command.as_str() {
        "import" => {
            let (mut file, mut service) = (None, None);
            while let Some(arg) = parser.next().map_err(error)? {
                match arg {
                    Value(path) if file.is_none() => file = Some(PathBuf::from(path)),
                    Long("service") if service.is_none() => {
                        let name = parser.value().map_err(error)?.string().map_err(error)?;
                        if !is_service_name(&name) {
                            return Err(format!(
                                "--service must be a service name: {SERVICE_RULE}"
                            ));
                        }
                        service = Some(name);
                    }
                    other => return Err(other.unexpected().to_string()),
                }
            }
            let file = file.ok_or("import needs the FILE to load")?;
            Command::Import(file, service)
        }
        "create-table" => Command::CreateTable,
        "verify" => {
            let mut rebuild = false;
            if let Some(arg) = parser.next().map_err(error)? {
                match arg {
                    Long("rebuild") => rebuild = true,
                    other => return Err(other.unexpected().to_string()),
                }
            }
            Command::Verify { rebuild }
        }
        "help" => Command::Help,
        other => return Err(format!("unknown command {other:?}")),
    };
    if let Some(arg) = parser.next().map_err(error)? {
        return Err(arg.unexpected().to_string());
    }
    Ok(Some(command))
}

/// Runs a subcommand to its end; messages go to stderr, results to stdout.
pub fn run(command: Command, config: &Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let operator_store = |table: &String| {
        DynamoDbStore::for_operator(table.clone())
            .with_delivery_actions(config.delivery_actions.clone())
            .with_default_service(&config.default_service)
    };
    let outcome = runtime.block_on(async {
        match (command, &config.store) {
            (Command::Import(file, service), StoreConfig::DynamoDb { table }) => {
                let rules = FileRules::new(config, service);
                import_into_table(&file, &operator_store(table), &rules).await
            }
            (Command::Import(file, service), StoreConfig::Memory { events_file }) => {
                let rules = FileRules::new(config, service);
                import_into_file(&file, events_file.as_deref(), &rules, config)
            }
            (Command::CreateTable, StoreConfig::DynamoDb { table }) => {
                let store = operator_store(table);
                match create_table(store.client().await, table).await? {
                    true => println!("created table {table}"),
                    false => println!("table {table} already exists; nothing changed"),
                }
                Ok(true)
            }
            (Command::Verify { rebuild }, StoreConfig::DynamoDb { table }) => {
                verify_table(&operator_store(table), rebuild).await
            }
            (Command::CreateTable | Command::Verify { .. }, StoreConfig::Memory { .. }) => Err(
                "this command is for the DynamoDB store: set EVENT_STORE=dynamodb and EVENTS_TABLE"
                    .into(),
            ),
            (Command::Help, _) => unreachable!("main answers it"),
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How a file's records are read: the actions allowed, and the service of a record naming none.
struct FileRules<'a> {
    allowed: &'a AllowedActions,
    default_service: String,
}

impl<'a> FileRules<'a> {
    fn new(config: &'a Config, service: Option<String>) -> Self {
        Self {
            allowed: &config.allowed_actions,
            default_service: service.unwrap_or_else(|| config.default_service.clone()),
        }
    }
}

/// A file to import, held to the rules `POST /events` applies, allowed actions included.
fn load(file: &Path, rules: &FileRules<'_>) -> Result<Services, String> {
    let source = file.display().to_string();
    let reader = File::open(file).map_err(|e| format!("{source}: cannot open: {e}"))?;
    let events = Services::load(reader, &source, &rules.default_service)
        .map_err(|e: LoadError| e.to_string())?;
    rules
        .allowed
        .check_store(&events)
        .map_err(|message| format!("{source}: {message}; nothing was imported"))?;
    Ok(events)
}

async fn import_into_table(
    file: &Path,
    store: &DynamoDbStore,
    rules: &FileRules<'_>,
) -> Result<bool, String> {
    let events = load(file, rules)?;
    table_exists(store).await?;
    eprintln!(
        "{}: {} events read; importing into table {}",
        file.display(),
        events.len(),
        store.table()
    );
    // `checked N/M (R/s, ETA …)`, then `written N/M …`: indicatif's bar, drawn on a terminal.
    let (mut stage, mut bar) = ("", ProgressBar::hidden());
    let report = import(store, &events, |progress| {
        if stage != progress.stage {
            bar.finish();
            stage = progress.stage;
            let style = ProgressStyle::with_template("{msg} {pos}/{len} ({per_sec}, ETA {eta})")
                .expect("a valid template");
            bar = ProgressBar::new(progress.total as u64)
                .with_style(style)
                .with_message(progress.stage);
        }
        bar.set_position(progress.done as u64);
    })
    .await;
    bar.finish();
    let report = report.map_err(|e| format!("{e}\nre-run the same import to complete it"))?;
    if report.changed_nothing() {
        println!(
            "nothing to do: all {} events were already stored and the aggregates agree",
            report.read
        );
    } else {
        println!(
            "imported {} new events ({} already stored); {} aggregate items updated",
            report.written, report.already_stored, report.aggregates_updated
        );
    }
    if report.commits_out_of_place > 0 {
        println!(
            "{} commit events come before the commit event that placed their commit: \
             run verify --rebuild (make verify ENV=… REBUILD=1) while nothing records events \
             to count their lead times from them",
            report.commits_out_of_place
        );
    }
    Ok(true)
}

/// The memory store's data is `EVENTS_FILE`: the new events are appended to it (JSON lines),
/// after checking that the two files together load.
fn import_into_file(
    file: &Path,
    events_file: Option<&Path>,
    rules: &FileRules<'_>,
    config: &Config,
) -> Result<bool, String> {
    let Some(target) = events_file else {
        return Err(
            "the memory store without EVENTS_FILE serves the built-in sample, which cannot be \
             changed: set EVENTS_FILE to the JSON-lines file to import into, or EVENT_STORE=dynamodb"
                .into(),
        );
    };
    let incoming = load(file, rules)?;
    // Held until the import ends: a server on this file would give out the ids it appends.
    let _lock = crate::store::memory::lock_events_file(target, true)?;
    let starts_with_array = std::fs::read(target)
        .map(|bytes| bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'['))
        .unwrap_or(false);
    if starts_with_array {
        return Err(format!(
            "{0} is a JSON array; import appends JSON lines: convert it first \
             (jq -c '.[]' {0} > events.jsonl) and point EVENTS_FILE at the result",
            target.display()
        ));
    }
    // The file's own records naming no service are the server's default's, as it loads them.
    let existing = if target.exists() {
        load(target, &FileRules::new(config, None))?
    } else {
        Services::default()
    };
    let stored: std::collections::HashMap<u64, RawEvent> = existing
        .iter()
        .map(|e| (e.id, RawEvent::from(&e)))
        .collect();
    let mut new = Vec::new();
    for event in incoming.iter() {
        let event = RawEvent::from(&event);
        match stored.get(&event.id) {
            None => new.push(event),
            Some(same) if *same == event => {}
            Some(_) => {
                return Err(format!(
                    "event id {} is already in {} with other content (its service counts too); nothing was changed",
                    event.id,
                    target.display()
                ));
            }
        }
    }
    if new.is_empty() {
        println!(
            "nothing to do: all {} events are already in {}",
            incoming.len(),
            target.display()
        );
        return Ok(true);
    }
    let mut lines = Vec::new();
    for event in &new {
        serde_json::to_writer(&mut lines, event).map_err(|e| e.to_string())?;
        lines.push(b'\n');
    }
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(target)
        .map_err(|e| format!("{}: {e}", target.display()))?;
    out.write_all(&lines)
        .and_then(|()| out.sync_all())
        .map_err(|e| format!("{}: {e}", target.display()))?;
    println!(
        "imported {} new events into {} ({} already there)",
        new.len(),
        target.display(),
        incoming.len() - new.len()
    );
    Ok(true)
}

/// A missing table is said in one line, not in the SDK's words (nor as "re-run the import").
async fn table_exists(store: &DynamoDbStore) -> Result<(), String> {
    let described = store
        .client()
        .await
        .describe_table()
        .table_name(store.table())
        .send()
        .await;
    match described {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Err(format!(
                "table {} does not exist: deploy the stack (make deploy) or run create-table",
                store.table()
            ))
        }
        Err(error) => Err(format!(
            "DescribeTable {}: {}",
            store.table(),
            aws_sdk_dynamodb::error::DisplayErrorContext(&error)
        )),
    }
}

async fn verify_table(store: &DynamoDbStore, rebuild: bool) -> Result<bool, String> {
    table_exists(store).await?;
    let report = verify(store, rebuild).await?;
    let list = |label: &str, keys: &[String]| {
        for key in keys.iter().take(20) {
            println!("  {label}: {key}");
        }
        if keys.len() > 20 {
            println!("  … and {} more {label}", keys.len() - 20);
        }
    };
    println!("{} events in table {}", report.events, store.table());
    list("missing", &report.missing);
    list("differing", &report.differing);
    list("extra", &report.extra);
    list("undecodable", &report.undecodable);
    for id in &report.duplicate_ids {
        println!("  duplicate id: {id}");
    }
    if report.is_exact() {
        println!("every aggregate equals its recomputation from the events");
        return Ok(true);
    }
    if rebuild {
        println!(
            "rebuilt: {} items written or deleted (events are never changed)",
            report.repaired
        );
        let repairable_only = report.undecodable.is_empty() && report.duplicate_ids.is_empty();
        return Ok(repairable_only);
    }
    println!("aggregates disagree with the events: run `pipeline-events-api verify --rebuild`");
    Ok(false)
}
