use std::process::ExitCode;

use pipeline_events_api::config::{Config, LogFormat};
use pipeline_events_api::{app, cli, lambda, local_server, startup, telemetry};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1).collect()) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    if let Some(cli::Command::Help) = command {
        println!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            // The configuration says how to log; without it, as it would by default.
            let on_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
            telemetry::init(LogFormat::default_for(on_lambda), "info");
            tracing::error!("configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(config.log_format, &config.log_level);
    if let Some(command) = command {
        return run_operator_command(command, &config);
    }

    let state = match startup::build_state(&config) {
        Ok(state) => state,
        Err(error) => {
            tracing::error!("cannot load events: {error}");
            return ExitCode::FAILURE;
        }
    };
    let router = app::router(state);

    // Lambda sends one request at a time to an instance: a single-threaded runtime starts faster.
    // Locally, use every core.
    let mut runtime = if config.on_lambda {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };

    let outcome = runtime.block_on(async {
        if config.on_lambda {
            lambda::run(router).await.map_err(|error| error.to_string())
        } else {
            let listener = tokio::net::TcpListener::bind(config.bind_addr)
                .await
                .map_err(|error| format!("cannot listen on {}: {error}", config.bind_addr))?;
            local_server::serve(listener, router)
                .await
                .map_err(|error| error.to_string())
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "operator-commands")]
fn run_operator_command(command: cli::Command, config: &Config) -> ExitCode {
    cli::run(command, config)
}

/// The Lambda package is built without the operator's commands: the function never runs them,
/// and their code (and the SDK calls only they make) would take the zip past its budget.
#[cfg(not(feature = "operator-commands"))]
fn run_operator_command(_: cli::Command, _: &Config) -> ExitCode {
    eprintln!(
        "error: this build (the Lambda package) has no operator commands: run them from a build \
         with default features (`cargo build --release`, or `make import` / `make verify`)"
    );
    ExitCode::from(2)
}
