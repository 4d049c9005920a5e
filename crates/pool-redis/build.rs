//! Tells pool-redis's tests whether a `redis-server` is on `PATH`.
//!
//! Most of its tests start a broker of their own. On a machine without one
//! they are compiled as ignored (cfg `no_redis_server`), each with the
//! reason, and cargo's summary counts them as ignored, not passed; this
//! script says so once, with how to get one. Where the server is required
//! (`CI` or `POOL_REDIS_REQUIRED` set) the tests run anyway and fail with
//! the same message.

use std::env;
use std::path::Path;

fn main() {
    // The across-hosts test makes network namespaces (root): it runs only
    // where POOL_REDIS_NETNS asks for it, and is ignored elsewhere.
    println!("cargo::rustc-check-cfg=cfg(no_netns)");
    println!("cargo::rerun-if-env-changed=POOL_REDIS_NETNS");
    if env::var_os("POOL_REDIS_NETNS").is_none_or(|v| v.is_empty()) {
        println!("cargo::rustc-cfg=no_netns");
    }
    println!("cargo::rustc-check-cfg=cfg(no_redis_server)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=POOL_REDIS_REQUIRED");
    let path = env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = env::split_paths(&path).filter(|d| d.is_absolute() && d.is_dir()).collect();
    // A server installed later adds an entry to one of these folders.
    for dir in &dirs {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    if dirs.iter().any(|d| Path::new(d).join("redis-server").is_file()) {
        return;
    }
    let required = ["CI", "POOL_REDIS_REQUIRED"].iter().any(|v| env::var_os(v).is_some_and(|v| !v.is_empty()));
    if required {
        println!(
            "cargo::warning=no redis-server on PATH, and CI or POOL_REDIS_REQUIRED requires it: pool-redis's broker tests will fail"
        );
    } else {
        println!("cargo::rustc-cfg=no_redis_server");
        println!(
            "cargo::warning=no redis-server on PATH: pool-redis's broker tests are ignored (apt-get install redis-server to run them)"
        );
    }
}
