//! `pool-redis`: the seed's worker pool on Redis Streams; see `pool-redis
//! --help` and `pool-redis worker --help`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use pool_core::cli::{Cli, EXIT_POOL, EXIT_USAGE, say};
use pool_redis::{NO_SERVER, PrivateServer, Redis, RedisOptions, URL_ENV, find_on_path};

fn main() -> ExitCode {
    // Before any thread: a worker process starts threads of its own.
    pool_core::limits::fit_address_space();
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "worker") {
        let mut worker_args = vec![OsString::from("pool-redis worker")];
        worker_args.extend(args.drain(2..));
        return pool_redis::remote::main(worker_args);
    }
    // The coordinator's stop signals are held back from here: the private
    // broker starts before the driver's watcher, and a Ctrl-C meanwhile
    // must wait, pending, for the watcher (a graceful stop), not take its
    // default action. The driver blocks them again and takes them.
    pool_core::signals::block_stop_signals();
    // What the shared driver cannot know: --remote-workers N sets the
    // number of workers, and a private broker needs a redis-server.
    // Bad usage is the driver's to report; every line goes through `say`,
    // so the status comes out whatever stderr does.
    let Ok(matches) = Cli::<RedisOptions>::command().try_get_matches_from(&args) else {
        return pool_core::cli::main_from::<Redis>(args);
    };
    let Ok(cli) = Cli::<RedisOptions>::from_arg_matches(&matches) else {
        return pool_core::cli::main_from::<Redis>(args);
    };
    if cli.describe {
        return pool_core::cli::main_from::<Redis>(args);
    }
    if let Some(n) = cli.backend.remote_workers {
        match matches.value_source("workers") {
            Some(ValueSource::DefaultValue) | None => args.extend(["--workers".into(), n.to_string().into()]),
            Some(_) if cli.run.workers != n => {
                say(&format!(
                    "error: invalid value '{}' for '--workers <N>': --remote-workers {n} sets the number of workers",
                    cli.run.workers
                ));
                return ExitCode::from(EXIT_USAGE);
            }
            Some(_) => {}
        }
    }
    if let Err(why) = pool_redis::tls::check_ca(cli.backend.redis.as_ref(), cli.backend.redis_ca.as_ref()) {
        say(&format!("error: {why}"));
        return ExitCode::from(EXIT_USAGE);
    }
    let url_given = cli.backend.redis.is_some() || std::env::var_os(URL_ENV).is_some_and(|v| !v.is_empty());
    if url_given {
        return pool_core::cli::main_from::<Redis>(args);
    }
    if find_on_path("redis-server").is_none() {
        say(&format!("error: {NO_SERVER}"));
        return ExitCode::from(EXIT_USAGE);
    }
    // The private broker starts before the pool, so the makespan the driver
    // reports is the pool's own; it is stopped when `server` drops, after
    // the run (or by its reaper if this process ends without unwinding).
    let server = match PrivateServer::start() {
        Ok(server) => server,
        Err(e) => {
            say(&format!("pool-redis: error: {e}"));
            return ExitCode::from(EXIT_POOL);
        }
    };
    args.extend(["--redis".into(), server.url().into()]);
    let status = pool_core::cli::main_from::<Redis>(args);
    drop(server);
    status
}
