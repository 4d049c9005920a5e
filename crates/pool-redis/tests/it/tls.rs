//! TLS and credentials: a `redis-server` on a TLS port with a certificate
//! from a CA the test makes (nothing committed), an ACL user with a
//! password; right and wrong CAs, host names and passwords; and no secret
//! in anything printed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use pool_core::{Completeness, Summary};
use pool_testkit::{case, judge, output_within};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use crate::support::{Lines, Server, finish, pool_redis};

/// The ACL user the broker knows, and its password: the secret that must
/// never be printed.
const USER: &str = "pool";
const PASSWORD: &str = "Zq9-tls-SECRET-7w";

/// A broker on a TLS port of 127.0.0.1 (its certificate names only that
/// address), signed by a CA of the test's own; the default user is off.
struct TlsBroker {
    dir: PathBuf,
    port: u16,
    /// Held for its `Drop`.
    _server: Server,
}

impl TlsBroker {
    fn start() -> TlsBroker {
        let dir = std::env::temp_dir().join(format!(
            "pool-redis-tls-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, ca_pem) = make_ca("pool-redis test CA");
        std::fs::write(dir.join("ca.pem"), ca_pem).unwrap();
        // A CA that signed nothing here: the wrong one.
        std::fs::write(dir.join("other-ca.pem"), make_ca("another CA").1).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join("broker.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("broker.key"), key.serialize_pem()).unwrap();
        // A free port now; the server takes it a moment later.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        let (port_text, cert, key, ca) = (port.to_string(), file("broker.pem"), file("broker.key"), file("ca.pem"));
        let password = format!(">{PASSWORD}");
        let server = Server::start(&[
            "--bind",
            "127.0.0.1",
            "-::1",
            "--tls-port",
            &port_text,
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            "no",
            "--user",
            USER,
            "on",
            &password,
            "~*",
            "&*",
            "+@all",
            "--user",
            "default",
            "off",
        ]);
        TlsBroker { dir, port, _server: server }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    /// `rediss://USER:password@host:port`.
    fn url(&self, host: &str, password: &str) -> String {
        format!("rediss://{USER}:{password}@{host}:{}", self.port)
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed CA and its certificate's PEM.
fn make_ca(name: &str) -> (CertifiedIssuer<'static, KeyPair>, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let pem = ca.pem();
    (ca, pem)
}

/// Runs to the end: (status code, stdout, stderr); fails if the password
/// is anywhere in what it printed.
fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let Output { status, stdout, stderr } = output_within(cmd);
    let (out, err) = (String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned());
    assert_no_secret(&out, "stdout");
    assert_no_secret(&err, "stderr");
    (status.code(), out, err)
}

fn assert_no_secret(text: &str, what: &str) {
    assert!(!text.contains(PASSWORD) && !text.contains("SECRET"), "the password is in {what}:\n{text}");
}

/// The one line on stderr.
fn one_line(stderr: &str) -> &str {
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr.trim_end()
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_tls_broker_with_its_ca_and_an_acl_user_runs_local_and_distributed_runs() {
    let broker = TlsBroker::start();
    let url = broker.url("127.0.0.1", PASSWORD);
    let ca = broker.path("ca.pem");

    // Local: the URL and CA on the command line.
    let args = ["--redis", &url, "--redis-ca", &ca, "-w", "2", "-j", "60", "--work", "spin:100us", "--format", "jsonl"];
    let (code, out, err) = run(&mut pool_redis(&args));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(judge(&out, &case(2, 60, "spin:100us"), Completeness::Complete), Summary::expected(2, 60, true));

    // Distributed: workers given both by the environment, started first so
    // that they say which broker they wait on (its URL redacted).
    let mut remote: Vec<_> = (0..2)
        .map(|_| {
            pool_redis(&["worker", "--run", "tls"])
                .env(pool_redis::URL_ENV, &url)
                .env(pool_redis::CA_ENV, &ca)
                .spawn()
                .expect("start a worker")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let args = ["--redis", &url, "--redis-ca", &ca, "--run", "tls", "--remote-workers", "2", "-j", "40"];
    let mut coord = pool_redis(&[&args[..], &["--work", "spin:1ms", "--format", "jsonl"]].concat()).spawn().unwrap();
    let lines = Lines::collect(coord.stdout.take().unwrap());
    let (status, err) = finish(&mut coord, "the coordinator", Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{err}");
    assert_no_secret(&err, "the coordinator's stderr");
    let hint = format!("pool-redis worker --redis rediss://***@127.0.0.1:{} --redis-ca {ca} --run tls", broker.port);
    assert!(err.contains(&hint), "{err}");
    let log = lines.text();
    assert_no_secret(&log, "the log");
    let summary = judge(&log, &case(2, 40, "spin:1ms").distributed(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(2, 40, true));
    for worker in &mut remote {
        let (status, err) = finish(worker, "a remote worker", Duration::from_secs(60));
        assert_eq!(status.code(), Some(0), "{err}");
        assert_no_secret(&err, "a worker's stderr");
        let shown = format!("rediss://***@127.0.0.1:{}", broker.port);
        assert!(err.contains("waiting for run 'tls'") && err.contains(&shown), "{err}");
    }
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_broker_certificate_that_does_not_verify_is_status_3_in_one_line() {
    let broker = TlsBroker::start();
    let right = broker.url("127.0.0.1", PASSWORD);
    // The certificate names 127.0.0.1, not localhost (which reaches the
    // same server).
    let other_name = broker.url("localhost", PASSWORD);
    let (ca, other_ca) = (broker.path("ca.pem"), broker.path("other-ca.pem"));
    let cases: [(&[&str], &str); 3] = [
        (&["--redis", &right, "--redis-ca", &other_ca], "not signed by the CA in"),
        (&["--redis", &right], "not signed by a CA among the system's roots (give the broker's CA with --redis-ca"),
        (&["--redis", &other_name, "--redis-ca", &ca], "not for the host in the URL"),
    ];
    for (flags, why) in cases {
        let (code, out, err) = run(&mut pool_redis(&[flags, &["-j", "3", "--work", "noop"]].concat()));
        assert_eq!(code, Some(3), "{flags:?}: {err}");
        let line = one_line(&err);
        assert!(line.contains("cannot reach the broker at rediss://***@") && line.contains(why), "{flags:?}: {line}");
        assert!(out.is_empty(), "{out}");
        let (code, _, err) = run(&mut pool_redis(&[&["worker"], flags].concat()));
        assert_eq!(code, Some(3), "worker {flags:?}: {err}");
        assert!(one_line(&err).contains(why), "worker {flags:?}: {err}");
    }
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn wrong_credentials_are_status_3_in_one_line_that_shows_none() {
    let broker = TlsBroker::start();
    let ca = broker.path("ca.pem");
    let port = broker.port;
    let refused = "it refused the user and password in the URL";
    let cases = [
        (broker.url("127.0.0.1", "SECRET-but-wrong"), refused),
        (format!("rediss://nobody:{PASSWORD}@127.0.0.1:{port}"), refused),
        (format!("rediss://:{PASSWORD}@127.0.0.1:{port}"), refused),
        (format!("rediss://127.0.0.1:{port}"), "it requires a password and the URL gives none"),
    ];
    for (url, why) in &cases {
        for by_env in [false, true] {
            let mut cmd = pool_redis(&["--redis-ca", &ca, "-j", "3", "--work", "noop"]);
            if by_env {
                cmd.env(pool_redis::URL_ENV, url);
            } else {
                cmd.args(["--redis", url]);
            }
            let (code, out, err) = run(&mut cmd);
            assert_eq!(code, Some(3), "{err}");
            let line = one_line(&err);
            assert!(line.contains(&format!("127.0.0.1:{port}")) && line.contains(why), "{line}");
            assert!(out.is_empty(), "{out}");
        }
        let (code, _, err) = run(&mut pool_redis(&["worker", "--redis", url, "--redis-ca", &ca]));
        assert_eq!(code, Some(3), "worker: {err}");
        assert!(one_line(&err).contains(why), "worker: {err}");
    }
}

/// What is refused before anything connects (no broker needed): a CA with
/// a URL that is not TLS, or with no URL; a CA file that cannot be read or
/// holds no certificate; `#insecure`. Each is one usage line, status 2.
#[test]
fn a_ca_without_tls_or_a_bad_ca_file_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("pool-redis-tls-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, make_ca("usage CA").1).unwrap();
    let key = dir.join("not-a-cert.pem");
    std::fs::write(&key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let text = |p: &Path| p.to_str().unwrap().to_owned();
    let (ca, key, missing) = (text(&ca), text(&key), text(&dir.join("missing.pem")));
    let plain = format!("redis://{USER}:{PASSWORD}@127.0.0.1:1");
    let tls = format!("rediss://{USER}:{PASSWORD}@127.0.0.1:1");
    let insecure = format!("{tls}/#insecure");
    let cases: [(&[&str], &str); 5] = [
        (&["--redis", &plain, "--redis-ca", &ca], "--redis-ca is for rediss:// URLs"),
        (&["--redis-ca", &ca], "--redis-ca is for a broker given by a rediss:// URL"),
        (&["--redis", &tls, "--redis-ca", &missing], "cannot read"),
        (&["--redis", &tls, "--redis-ca", &key], "holds no PEM certificate"),
        (&["--redis", &insecure], "#insecure (no certificate check) is not supported"),
    ];
    for (flags, why) in cases {
        let (code, out, err) = run(&mut pool_redis(&[flags, &["-j", "1"]].concat()));
        assert_eq!(code, Some(2), "{flags:?}: {err}");
        assert!(one_line(&err).contains(why), "{flags:?}: {err}");
        assert!(out.is_empty());
        if flags[0] == "--redis" {
            let (code, _, err) = run(&mut pool_redis(&[&["worker"], flags].concat()));
            assert_eq!(code, Some(2), "worker {flags:?}: {err}");
            assert!(one_line(&err).contains(why), "worker {flags:?}: {err}");
        }
    }
    // The CA from the environment is checked the same way.
    let (code, _, err) = run(pool_redis(&["--redis", &plain, "-j", "1"]).env(pool_redis::CA_ENV, &ca));
    assert_eq!(code, Some(2), "{err}");
    assert!(one_line(&err).contains("--redis-ca is for rediss:// URLs"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
