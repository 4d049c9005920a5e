//! Events and the two log formats: the seed's text lines, to the byte, and
//! JSON lines. Both are written and read here, so what a backend prints and
//! what the checker reads cannot drift apart.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

use serde::{Deserialize, Serialize};

use crate::{JobId, WorkerId};

/// Something a worker did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The worker took the job and began it.
    Started {
        /// The job.
        job: JobId,
    },
    /// The job ended with a result (absent in the text format, which does
    /// not print it).
    Finished {
        /// The job.
        job: JobId,
        /// Its result, `j * 2` when correct.
        result: Option<u64>,
    },
    /// The job panicked; the message says why.
    Failed {
        /// The job.
        job: JobId,
        /// The panic message.
        error: String,
    },
    /// The worker saw that no work is left and stopped.
    Exiting,
    /// The worker took over a job whose lease had run out on worker `from`
    /// (a worker process killed or stalled mid-job, in pool-redis's
    /// distributed mode); the job is no longer `from`'s and runs again here.
    Reclaimed {
        /// The job.
        job: JobId,
        /// The worker that held it.
        from: WorkerId,
    },
}

/// One parsed log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Line number in the log, from 1.
    pub line: usize,
    /// Microseconds since the pool started (JSON lines only).
    pub t_us: Option<u64>,
    /// The worker the event is about.
    pub worker: WorkerId,
    /// What happened.
    pub event: Event,
}

/// A log format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The seed's lines: `worker 1 started  job 1`.
    #[default]
    Text,
    /// One JSON object per line: `{"t_us":12,"worker":1,"event":"started","job":1}`.
    Jsonl,
}

/// A log line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The JSON shape of an event; field order is the documented one. Reading
/// refuses a field not named here, a field twice, and a value of the wrong
/// type; which fields each event must have is [`JSON_FIELDS`]'s.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    worker: Option<u32>,
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    error: Option<Cow<'a, str>>,
}

/// A field of a JSON line beyond `t_us`, `worker` and `event`, which every
/// event has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Job,
    Result,
    Error,
    From,
}

impl Field {
    const ALL: [Field; 4] = [Field::Job, Field::Result, Field::Error, Field::From];

    fn name(self) -> &'static str {
        match self {
            Field::Job => "job",
            Field::Result => "result",
            Field::Error => "error",
            Field::From => "from",
        }
    }

    fn present(self, json: &JsonLine<'_>) -> bool {
        match self {
            Field::Job => json.job.is_some(),
            Field::Result => json.result.is_some(),
            Field::Error => json.error.is_some(),
            Field::From => json.from.is_some(),
        }
    }
}

/// Each event's name and the fields it has besides `t_us`, `worker` and
/// `event`: exactly these, no more, no fewer. A new event is a row here, a
/// variant of [`Event`] and an arm in `parse_json` and [`Format::write`].
const JSON_FIELDS: &[(&str, &[Field])] = &[
    ("started", &[Field::Job]),
    ("finished", &[Field::Job, Field::Result]),
    ("failed", &[Field::Job, Field::Error]),
    ("exiting", &[]),
    ("reclaimed", &[Field::Job, Field::From]),
];

/// Makes a panic message fit on one text line.
fn one_line(message: &str) -> Cow<'_, str> {
    if message.contains(['\n', '\r']) {
        Cow::Owned(message.replace("\r\n", " ").replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(message)
    }
}

impl Format {
    /// Appends one whole line for `event` to `buf`.
    pub fn write(self, buf: &mut Vec<u8>, t_us: u64, worker: WorkerId, event: &Event) {
        // Writing into a Vec cannot fail.
        let _ = match self {
            Format::Text => match event {
                Event::Started { job } => writeln!(buf, "worker {worker} started  job {job}"),
                Event::Finished { job, .. } => writeln!(buf, "worker {worker} finished job {job}"),
                Event::Failed { job, error } => {
                    writeln!(buf, "worker {worker} failed   job {job}: {}", one_line(error))
                }
                Event::Exiting => writeln!(buf, "worker {worker} exiting"),
                Event::Reclaimed { job, from } => {
                    writeln!(buf, "worker {worker} reclaimed job {job} from worker {from}")
                }
            },
            Format::Jsonl => {
                let (name, job, result, error) = match event {
                    Event::Started { job } => ("started", Some(job.0), None, None),
                    Event::Finished { job, result } => ("finished", Some(job.0), *result, None),
                    Event::Failed { job, error } => ("failed", Some(job.0), None, Some(error.as_str())),
                    Event::Exiting => ("exiting", None, None, None),
                    Event::Reclaimed { job, .. } => ("reclaimed", Some(job.0), None, None),
                };
                let from = match event {
                    Event::Reclaimed { from, .. } => Some(from.0),
                    _ => None,
                };
                let line = JsonLine {
                    t_us: Some(t_us),
                    worker: Some(worker.0),
                    event: Cow::Borrowed(name),
                    job,
                    from,
                    result,
                    error: error.map(Cow::Borrowed),
                };
                serde_json::to_writer(&mut *buf, &line).map_err(std::io::Error::other).and_then(|()| writeln!(buf))
            }
        };
    }

    /// Reads a whole log, strictly: every line is one event, and a JSON line
    /// has exactly its event's fields (see `JSON_FIELDS`), each of its type.
    /// There is no exception: nothing the pool writes to the log is anything
    /// but an event.
    pub fn parse(self, input: &str) -> Result<Vec<Record>, ParseError> {
        let mut records = Vec::new();
        for (i, text) in input.split_terminator('\n').enumerate() {
            let line = i + 1;
            let fail = |message: String| ParseError { line, message };
            let parsed = match self {
                Format::Text => parse_text(text),
                Format::Jsonl => parse_json(text),
            };
            let (t_us, worker, event) = parsed.map_err(fail)?;
            records.push(Record { line, t_us, worker, event });
        }
        Ok(records)
    }
}

type Parsed = (Option<u64>, WorkerId, Event);

/// A number written the way the pool writes it: decimal digits, no sign, no
/// leading zero.
fn number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten().ok_or_else(|| format!("bad {what} number '{s}'"))
}

fn parse_text(line: &str) -> Result<Parsed, String> {
    let unknown = || format!("not a log line: '{line}'");
    let rest = line.strip_prefix("worker ").ok_or_else(unknown)?;
    let (worker, rest) = rest.split_once(' ').ok_or_else(unknown)?;
    let worker = WorkerId(number(worker, "worker")?);
    let job = |s: &str| number(s, "job").map(JobId);
    let event = if rest == "exiting" {
        Event::Exiting
    } else if let Some(j) = rest.strip_prefix("started  job ") {
        Event::Started { job: job(j)? }
    } else if let Some(j) = rest.strip_prefix("finished job ") {
        Event::Finished { job: job(j)?, result: None }
    } else if let Some(rest) = rest.strip_prefix("reclaimed job ") {
        let (j, from) = rest.split_once(" from worker ").ok_or_else(unknown)?;
        Event::Reclaimed { job: job(j)?, from: WorkerId(number(from, "worker")?) }
    } else if let Some(rest) = rest.strip_prefix("failed   job ") {
        let (j, error) = rest.split_once(": ").ok_or_else(unknown)?;
        Event::Failed { job: job(j)?, error: error.to_owned() }
    } else {
        return Err(unknown());
    };
    Ok((None, worker, event))
}

fn parse_json(line: &str) -> Result<Parsed, String> {
    let json: JsonLine<'_> = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
    let name = &*json.event;
    let Some(&(_, fields)) = JSON_FIELDS.iter().find(|(n, _)| *n == name) else {
        let known: Vec<&str> = JSON_FIELDS.iter().map(|(n, _)| *n).collect();
        return Err(format!("unknown event '{name}' (expected one of: {})", known.join(", ")));
    };
    for field in Field::ALL {
        match (fields.contains(&field), field.present(&json)) {
            (true, false) => return Err(format!("'{name}' event without a '{}' field", field.name())),
            (false, true) => {
                return Err(format!("'{name}' event with a '{}' field, which it does not have", field.name()));
            }
            _ => {}
        }
    }
    let t_us = json.t_us.ok_or_else(|| format!("'{name}' event without a 't_us' field"))?;
    let worker = WorkerId(json.worker.ok_or_else(|| format!("'{name}' event without a 'worker' field"))?);
    // Present, as the table just checked.
    let job = JobId(json.job.unwrap_or_default());
    let event = match name {
        "started" => Event::Started { job },
        "finished" => Event::Finished { job, result: json.result },
        "failed" => Event::Failed { job, error: json.error.unwrap_or_default().into_owned() },
        "exiting" => Event::Exiting,
        "reclaimed" => Event::Reclaimed { job, from: WorkerId(json.from.unwrap_or_default()) },
        _ => unreachable!("every event in JSON_FIELDS has an arm"),
    };
    Ok((Some(t_us), worker, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(format: Format, t_us: u64, worker: u32, event: Event) -> String {
        let mut buf = Vec::new();
        format.write(&mut buf, t_us, WorkerId(worker), &event);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn text_lines_are_the_seeds_to_the_byte() {
        let t = Format::Text;
        assert_eq!(line(t, 0, 1, Event::Started { job: JobId(1) }), "worker 1 started  job 1\n");
        assert_eq!(line(t, 0, 12, Event::Finished { job: JobId(40), result: Some(80) }), "worker 12 finished job 40\n");
        assert_eq!(
            line(t, 0, 2, Event::Failed { job: JobId(3), error: "boom".into() }),
            "worker 2 failed   job 3: boom\n"
        );
        assert_eq!(line(t, 0, 3, Event::Exiting), "worker 3 exiting\n");
        assert_eq!(
            line(t, 0, 2, Event::Reclaimed { job: JobId(7), from: WorkerId(1) }),
            "worker 2 reclaimed job 7 from worker 1\n"
        );
    }

    #[test]
    fn a_multi_line_panic_message_stays_one_line() {
        let text = line(Format::Text, 0, 1, Event::Failed { job: JobId(1), error: "a\nb\r\nc".into() });
        assert_eq!(text, "worker 1 failed   job 1: a b c\n");
        let json = line(Format::Jsonl, 0, 1, Event::Failed { job: JobId(1), error: "a\nb".into() });
        assert_eq!(json.lines().count(), 1);
        assert_eq!(Format::Jsonl.parse(&json).unwrap()[0].event, Event::Failed { job: JobId(1), error: "a\nb".into() });
    }

    #[test]
    fn json_lines_have_the_documented_fields_in_order() {
        let j = Format::Jsonl;
        assert_eq!(
            line(j, 12, 1, Event::Started { job: JobId(1) }),
            "{\"t_us\":12,\"worker\":1,\"event\":\"started\",\"job\":1}\n"
        );
        assert_eq!(
            line(j, 1000034, 1, Event::Finished { job: JobId(1), result: Some(2) }),
            "{\"t_us\":1000034,\"worker\":1,\"event\":\"finished\",\"job\":1,\"result\":2}\n"
        );
        assert_eq!(
            line(j, 5, 2, Event::Failed { job: JobId(3), error: "x \"y\"".into() }),
            "{\"t_us\":5,\"worker\":2,\"event\":\"failed\",\"job\":3,\"error\":\"x \\\"y\\\"\"}\n"
        );
        assert_eq!(line(j, 9, 1, Event::Exiting), "{\"t_us\":9,\"worker\":1,\"event\":\"exiting\"}\n");
        assert_eq!(
            line(j, 40, 2, Event::Reclaimed { job: JobId(7), from: WorkerId(1) }),
            "{\"t_us\":40,\"worker\":2,\"event\":\"reclaimed\",\"job\":7,\"from\":1}\n"
        );
        let err = j.parse("{\"t_us\":1,\"worker\":2,\"event\":\"reclaimed\",\"job\":7}").unwrap_err();
        assert!(err.message.contains("without a 'from' field"), "{err}");
    }

    #[test]
    fn both_formats_read_back_what_they_write() {
        let events = [
            (1, Event::Started { job: JobId(1) }),
            (2, Event::Started { job: JobId(2) }),
            (1, Event::Finished { job: JobId(1), result: Some(2) }),
            (2, Event::Failed { job: JobId(2), error: "job 2 panicked: oh: no".into() }),
            (1, Event::Exiting),
            (3, Event::Reclaimed { job: JobId(2), from: WorkerId(2) }),
            (2, Event::Exiting),
        ];
        for format in [Format::Text, Format::Jsonl] {
            let mut buf = Vec::new();
            for (t, (w, e)) in events.iter().enumerate() {
                format.write(&mut buf, t as u64, WorkerId(*w), e);
            }
            let records = format.parse(std::str::from_utf8(&buf).unwrap()).unwrap();
            assert_eq!(records.len(), events.len());
            for (i, (r, (w, e))) in records.iter().zip(&events).enumerate() {
                assert_eq!(r.line, i + 1);
                assert_eq!(r.worker, WorkerId(*w));
                let want = match (format, e) {
                    (Format::Text, Event::Finished { job, .. }) => Event::Finished { job: *job, result: None },
                    _ => e.clone(),
                };
                assert_eq!(r.event, want);
                assert_eq!(r.t_us, (format == Format::Jsonl).then_some(i as u64));
            }
        }
    }

    #[test]
    fn json_is_strict_and_names_the_line() {
        let good = r#"{"t_us":1,"worker":1,"event":"exiting"}"#;
        for (bad, message) in [
            (
                r#"{"t_us":1,"worker":99,"event":"Started","job":1}"#,
                "unknown event 'Started' (expected one of: started, finished, failed, exiting, reclaimed)",
            ),
            (r#"{"t_us":1,"worker":1,"event":"finish","job":1,"result":999}"#, "unknown event 'finish'"),
            (r#"{"event":"summary","jobs":5}"#, "bad JSON: unknown field `jobs`"),
            (
                r#"{"t_us":1,"worker":1,"event":"started","job":1,"result":2}"#,
                "'started' event with a 'result' field, which it does not have",
            ),
            (
                r#"{"t_us":1,"worker":1,"event":"exiting","job":1}"#,
                "'exiting' event with a 'job' field, which it does not have",
            ),
            (
                r#"{"t_us":1,"worker":1,"event":"failed","job":1,"error":"x","result":2}"#,
                "'failed' event with a 'result' field, which it does not have",
            ),
            (r#"{"t_us":1,"worker":1,"event":"started","job":1,"colour":"red"}"#, "bad JSON: unknown field `colour`"),
            (r#"{"t_us":1,"worker":1,"event":"started"}"#, "'started' event without a 'job' field"),
            (r#"{"t_us":1,"worker":2,"event":"reclaimed","job":1}"#, "'reclaimed' event without a 'from' field"),
            (r#"{"t_us":1,"worker":2,"event":"started","job":1,"from":1}"#, "'started' event with a 'from' field"),
            (r#"{"t_us":1,"worker":1,"event":"finished","job":1}"#, "'finished' event without a 'result' field"),
            (r#"{"t_us":1,"worker":1,"event":"failed","job":1}"#, "'failed' event without a 'error' field"),
            (r#"{"worker":1,"event":"exiting"}"#, "'exiting' event without a 't_us' field"),
            (r#"{"t_us":1,"event":"exiting"}"#, "'exiting' event without a 'worker' field"),
            (r#"{"t_us":1,"worker":1}"#, "bad JSON: missing field `event`"),
            (r#"{"t_us":1,"worker":"1","event":"exiting"}"#, "bad JSON: invalid type: string \"1\""),
            (r#"{"t_us":1,"worker":1,"event":"started","job":1.5}"#, "bad JSON: invalid type: floating point"),
            (r#"{"t_us":-1,"worker":1,"event":"exiting"}"#, "bad JSON: invalid value: integer `-1`"),
            (r#"{"t_us":1,"worker":1,"event":"finished","job":1,"result":"2"}"#, "bad JSON: invalid type: string"),
            (
                r#"{"t_us":1,"worker":1,"event":"finished","job":1,"result":null}"#,
                "'finished' event without a 'result' field",
            ),
            (r#"{"t_us":1,"worker":1,"worker":2,"event":"exiting"}"#, "bad JSON: duplicate field `worker`"),
            (r#"{"t_us":1,"worker":1,"event":7}"#, "bad JSON: invalid type: integer `7`"),
            ("[1,2]", "bad JSON"),
            ("", "bad JSON"),
            ("{", "bad JSON"),
        ] {
            let err = Format::Jsonl.parse(&format!("{good}\n{bad}\n{good}\n")).expect_err(bad);
            assert_eq!(err.line, 2, "{bad}: {err}");
            assert!(err.message.starts_with(message), "{bad}: {err} does not start with {message:?}");
        }
    }

    #[test]
    fn text_rejects_anything_off_by_a_byte() {
        for bad in [
            "worker 1 started job 1",
            "worker 1 started  job 1 ",
            "worker 1  started  job 1",
            "Worker 1 exiting",
            "worker 01 exiting",
            "worker +1 exiting",
            "worker 1 finished  job 1",
            "worker 1 failed job 1: x",
            "worker 1 failed   job 1",
            "worker 1 started  job 1worker 2 started  job 2",
            "worker 1 exiting\r",
            "worker 2 reclaimed job 7 from 1",
            "worker 2 reclaimed job 7 from worker 01",
            "worker 2 reclaimed  job 7 from worker 1",
            "",
        ] {
            let log = format!("worker 1 exiting\n{bad}\n");
            let err = Format::Text.parse(&log).expect_err(bad);
            assert_eq!(err.line, 2, "{bad:?}");
        }
    }
}
