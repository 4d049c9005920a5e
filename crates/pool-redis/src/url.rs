//! The broker's address (`--redis URL`, or the environment variable
//! [`URL_ENV`]), kept so that a password in it is never printed: its
//! `Display` and `Debug` show the URL with the credentials masked, and a bad
//! URL is refused with a message of our own, not clap's (which would echo it).

use std::ffi::OsStr;
use std::fmt;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};

/// The environment variable that gives the broker's URL when `--redis` is
/// not on the command line.
pub const URL_ENV: &str = "POOL_REDIS_URL";

/// A Redis URL that parsed: `redis://[user:password@]host[:port][/db]`,
/// `rediss://…` (the same over TLS, see [`tls`](crate::tls)),
/// `redis+unix:///path/to/socket`, `unix:///path/to/socket`.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    url: String,
    tls: bool,
}

impl BrokerUrl {
    /// Checks `url` the way the client will read it.
    pub fn parse(url: &str) -> Result<Self, String> {
        if !cfg!(feature = "tls") && url.starts_with("rediss:") {
            return Err(format!("rediss:// (TLS): {}", crate::tls::WITHOUT_TLS));
        }
        match url.into_connection_info().as_ref().map(ConnectionInfo::addr) {
            // The client would refuse it on connecting (no verifier that
            // checks nothing is built in); say so before.
            Ok(ConnectionAddr::TcpTls { insecure: true, .. }) => Err(
                "rediss://…#insecure (no certificate check) is not supported: give the broker's CA with --redis-ca FILE"
                    .to_owned(),
            ),
            Ok(addr) => Ok(BrokerUrl { url: url.to_owned(), tls: matches!(addr, ConnectionAddr::TcpTls { .. }) }),
            Err(e) => Err(format!(
                "not a Redis URL ({}); expected redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH",
                crate::wire::describe(e)
            )),
        }
    }

    /// Whether the client talks TLS to the broker (`rediss://`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The URL itself, credentials included: only for the client.
    pub(crate) fn secret(&self) -> &str {
        &self.url
    }

    /// The URL with any user and password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }
}

/// `url` with what may hold a secret masked: everything up to the last `@`
/// (the user information, `user:password@`), and the query and fragment
/// (unix socket URLs take `?pass=`).
///
/// Deliberately not a URL parser's reading: a password may hold any
/// character, and a parser takes an unescaped `/`, `?` or `#` in it for the
/// end of the authority, which is how a password was once printed whole. A
/// host never holds `@`, so whatever precedes the last one is masked, and
/// only the host, port and path after it are shown; where a `?` comes
/// before that `@`, either may be the password's, so nothing is shown.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not URL-shaped: it may be anything, so show none of it.
        return "(the given URL)".to_owned();
    };
    let (user, rest) = match rest.rfind('@') {
        Some(at) if rest[..at].contains('?') => return format!("{scheme}://***"),
        Some(at) => ("***@", &rest[at + 1..]),
        None => ("", rest),
    };
    let (rest, tail) = match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], if rest[i..].starts_with('?') { "?***" } else { "#***" }),
        None => (rest, ""),
    };
    format!("{scheme}://{user}{rest}{tail}")
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrokerUrl({})", self.redacted())
    }
}

/// Parses `--redis`: on failure, one line that names the flag and shows the
/// URL redacted.
#[derive(Clone, Copy, Debug, Default)]
pub struct UrlParser;

impl TypedValueParser for UrlParser {
    type Value = BrokerUrl;

    fn parse_ref(&self, cmd: &clap::Command, _: Option<&clap::Arg>, value: &OsStr) -> Result<BrokerUrl, clap::Error> {
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(ErrorKind::InvalidUtf8, "invalid value for '--redis <URL>': not UTF-8\n").with_cmd(cmd)
        })?;
        BrokerUrl::parse(text).map_err(|why| {
            let message = format!("invalid value '{}' for '--redis <URL>': {why}\n", redact(text));
            clap::Error::raw(ErrorKind::ValueValidation, message).with_cmd(cmd)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(redact("redis://:hunter2@db.example:6379/0"), "redis://***@db.example:6379/0");
        assert_eq!(redact("redis://me:hunter2@db/1?x=@"), "redis://***");
        assert_eq!(redact("redis://me:hunter2@db/1?x=y"), "redis://***@db/1?***");
        assert_eq!(redact("unix:///tmp/r.sock?pass=hunter2"), "unix:///tmp/r.sock?***");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact("unix:///tmp/r.sock"), "unix:///tmp/r.sock");
        assert_eq!(redact("hunter2"), "(the given URL)");
        let url = BrokerUrl::parse("redis://:hunter2@localhost:1").unwrap();
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert_eq!(url.secret(), "redis://:hunter2@localhost:1");
    }

    /// A password may hold any character: none of it is ever shown, in
    /// every place a URL takes one.
    #[test]
    fn no_character_in_a_password_lets_it_through() {
        let odd = ['é', '€', '😀', '\u{7f}'];
        for c in (' '..='~').chain(odd) {
            for password in [format!("Zq{c}9secret"), format!("{c}Zq9secret"), format!("Zq9secret{c}")] {
                for url in [
                    format!("redis://:{password}@127.0.0.1:17379"),
                    format!("redis://me:{password}@db.example:6379/2"),
                    format!("rediss://:{password}@h"),
                    format!("unix:///tmp/r.sock?pass={password}"),
                    format!("redis+unix:///tmp/r.sock?db=0&pass={password}"),
                ] {
                    let shown = redact(&url);
                    assert!(!shown.contains("secret") && !shown.contains("Zq"), "{c:?}: {url} shown as {shown}");
                    if let Ok(parsed) = BrokerUrl::parse(&url) {
                        assert!(!format!("{parsed} {parsed:?}").contains("secret"), "{c:?}: {url}");
                    }
                }
            }
        }
        // What is not secret stays readable.
        assert_eq!(redact("redis://:Zq#9secret@127.0.0.1:17379"), "redis://***@127.0.0.1:17379");
        assert_eq!(redact("redis://:a/b#c@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redact("redis://:a/b?c@h:1/0"), "redis://***", "a ? before the @: show nothing");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_a_password() {
        for bad in ["", "localhost:6379", "http://x", "redis://:pw@", "redis://h:notaport"] {
            let err = BrokerUrl::parse(bad).expect_err(bad);
            assert!(err.contains("not a Redis URL"), "{bad}: {err}");
        }
        let cmd = clap::Command::new("t");
        let err = UrlParser.parse_ref(&cmd, None, OsStr::new("redis://:hunter2@h:notaport")).unwrap_err();
        let text = err.render().to_string();
        assert!(text.contains("--redis") && !text.contains("hunter2"), "{text}");
    }
}
