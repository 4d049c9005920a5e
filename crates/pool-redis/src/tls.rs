//! TLS to the broker: `rediss://` URLs, through the redis crate's rustls
//! support (ring as the crypto provider, no OpenSSL). The broker's
//! certificate is checked against the system's roots, or, with
//! `--redis-ca FILE` (or [`CA_ENV`]), against the CA certificates in that
//! file alone: the usual case for a broker with a private CA. The host in
//! the URL must be one the certificate names (a DNS name or an IP address).
//!
//! What is refused, and where: a CA file that cannot be read or holds no
//! certificate, a CA with a URL that is not `rediss://` (TLS the user meant
//! to have would silently be plain TCP) and the redis crate's `#insecure`
//! (no verification at all) are usage errors, before anything connects; a
//! certificate that does not verify is found on connecting, and said in one
//! line by `describe_tls`.
//!
//! TLS is the `tls` cargo feature (on by default). Without it (a build for
//! a target whose C toolchain ring lacks) a `rediss://` URL and a CA file
//! are usage errors that say so.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use redis::RedisError;
#[cfg(feature = "tls")]
use redis::TlsCertificates;

use crate::url::BrokerUrl;

/// The environment variable that gives `--redis-ca` when it is not on the
/// command line.
pub const CA_ENV: &str = "POOL_REDIS_CA";

/// A CA file that was read and holds at least one PEM certificate: the
/// roots a `rediss://` broker's certificate is checked against, in place of
/// the system's.
#[derive(Clone, PartialEq, Eq)]
pub struct CaFile {
    path: PathBuf,
    pem: Arc<[u8]>,
}

impl CaFile {
    /// Reads `path`; refuses a file with no `CERTIFICATE` block in it.
    pub fn read(path: &Path) -> Result<CaFile, String> {
        if !cfg!(feature = "tls") {
            return Err(WITHOUT_TLS.to_owned());
        }
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let certificates = pem_certificates(&pem);
        if certificates == 0 {
            return Err(format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()));
        }
        Ok(CaFile { path: path.to_owned(), pem: pem.into() })
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Why a TLS URL or a CA file is refused by a build without TLS.
pub const WITHOUT_TLS: &str = "this pool-redis was built without TLS (its cargo feature `tls`, on by default)";

/// How many well-formed PEM `CERTIFICATE` blocks `pem` holds.
#[cfg(feature = "tls")]
fn pem_certificates(pem: &[u8]) -> usize {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem).take_while(Result::is_ok).count()
}

/// Without TLS no CA file is ever read.
#[cfg(not(feature = "tls"))]
fn pem_certificates(_: &[u8]) -> usize {
    0
}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaFile({})", self.path.display())
    }
}

/// Parses `--redis-ca`: the file is read at once, and a bad one is one line
/// that names the flag.
#[derive(Clone, Copy, Debug, Default)]
pub struct CaParser;

impl TypedValueParser for CaParser {
    type Value = CaFile;

    fn parse_ref(&self, cmd: &clap::Command, _: Option<&clap::Arg>, value: &OsStr) -> Result<CaFile, clap::Error> {
        CaFile::read(Path::new(value)).map_err(|why| {
            let message = format!("invalid value for '--redis-ca <FILE>': {why}\n");
            clap::Error::raw(ErrorKind::ValueValidation, message).with_cmd(cmd)
        })
    }
}

/// Checks that a CA goes with a URL that uses TLS: one usage line if not.
pub fn check_ca(url: Option<&BrokerUrl>, ca: Option<&CaFile>) -> Result<(), String> {
    match (url, ca) {
        (Some(url), Some(_)) if !url.is_tls() => {
            Err(format!("--redis-ca is for rediss:// URLs (TLS), and the broker is {url}: use rediss://"))
        }
        (None, Some(_)) => Err("--redis-ca is for a broker given by a rediss:// URL (--redis)".to_owned()),
        _ => Ok(()),
    }
}

/// The client for `url`: with `ca`'s roots when given (`url` is then
/// `rediss://`, see [`check_ca`]).
#[cfg(feature = "tls")]
pub(crate) fn client(url: &BrokerUrl, ca: Option<&CaFile>) -> Result<redis::Client, RedisError> {
    match ca {
        None => redis::Client::open(url.secret()),
        Some(ca) => redis::Client::build_with_tls(
            url.secret(),
            TlsCertificates { client_tls: None, root_cert: Some(ca.pem.to_vec()) },
        ),
    }
}

/// Without TLS there is no CA to give the client (see [`CaFile::read`]).
#[cfg(not(feature = "tls"))]
pub(crate) fn client(url: &BrokerUrl, _: Option<&CaFile>) -> Result<redis::Client, RedisError> {
    redis::Client::open(url.secret())
}

/// Without TLS no failure is a TLS one.
#[cfg(not(feature = "tls"))]
pub(crate) fn describe_tls(_: &RedisError, _: Option<&CaFile>) -> Option<String> {
    None
}

/// What a TLS failure on connecting means, in a few words, or `None` when
/// `e` is no TLS failure.
#[cfg(feature = "tls")]
pub(crate) fn describe_tls(e: &RedisError, ca: Option<&CaFile>) -> Option<String> {
    use rustls::{CertificateError, Error};
    type Shared = std::sync::Arc<dyn std::error::Error + Send + Sync>;
    // The client keeps its cause behind an `Arc`, and a rustls error in a
    // stream's read sits in an `io::Error`: neither's `source` yields what
    // it holds, so both are opened here.
    let held = std::error::Error::source(e)?;
    let held: &(dyn std::error::Error + 'static) = match held.downcast_ref::<Shared>() {
        Some(shared) => &**shared,
        None => held,
    };
    let tls = match held.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
        Some(inner) => inner.downcast_ref::<Error>()?,
        None => held.downcast_ref::<Error>()?,
    };
    let roots = match ca {
        Some(ca) => format!("the CA in {}", ca.path().display()),
        None => "a CA among the system's roots (give the broker's CA with --redis-ca FILE)".to_owned(),
    };
    Some(match tls {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            format!("TLS: the broker's certificate is not signed by {roots}")
        }
        Error::InvalidCertificate(why @ CertificateError::NotValidForNameContext { .. }) => {
            format!("TLS: the broker's certificate is not for the host in the URL ({why})")
        }
        Error::InvalidCertificate(CertificateError::NotValidForName) => {
            "TLS: the broker's certificate is not for the host in the URL".to_owned()
        }
        Error::InvalidCertificate(why) => format!("TLS: the broker's certificate is refused ({why})"),
        Error::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
            "TLS: the broker asks for a client certificate; pool-redis gives a password instead (run the broker with \
             --tls-auth-clients no)"
                .to_owned()
        }
        Error::InvalidMessage(_) => format!("TLS: the broker does not answer in TLS on that port ({tls})"),
        other => format!("TLS: {other}"),
    })
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("pool-redis-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(CaFile::read(&empty).unwrap_err().contains("holds no PEM certificate"));
        assert!(CaFile::read(&dir.join("missing.pem")).unwrap_err().contains("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ca_goes_only_with_a_tls_url() {
        let ca = CaFile { path: "ca.pem".into(), pem: Arc::from(&b""[..]) };
        let plain = BrokerUrl::parse("redis://:hunter2@h:1").unwrap();
        let tls = BrokerUrl::parse("rediss://:hunter2@h:1").unwrap();
        let err = check_ca(Some(&plain), Some(&ca)).unwrap_err();
        assert!(err.contains("rediss://") && !err.contains("hunter2"), "{err}");
        assert!(check_ca(None, Some(&ca)).is_err());
        assert!(check_ca(Some(&tls), Some(&ca)).is_ok());
        assert!(check_ca(Some(&plain), None).is_ok());
    }
}
