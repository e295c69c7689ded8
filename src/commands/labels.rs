//! `pixelcnn tag` and `pixelcnn note`: labels a person puts on a run after the fact.

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{DbArg, NoteArgs, TagArgs};
use crate::commands::runs::open;

/// The options that may follow the tag changes (`tag RUN -draft --db URL`): the changes take
/// every value that starts with `-`, so options after them are read here.
#[derive(Debug, Parser)]
struct Trailing {
    #[command(flatten)]
    db: DbArg,
}

/// Splits what follows the run into the tags to add (`+a`, `c`), the tags to remove (`-b`), and
/// trailing options (`--db URL`, `--db=URL`: a change never starts with `--`).
fn changes(args: &[String]) -> anyhow::Result<(Vec<String>, Vec<String>, Trailing)> {
    let (mut add, mut remove, mut options) = (Vec::new(), Vec::new(), vec!["pixelcnn tag".to_owned()]);
    let mut rest = args.iter();
    while let Some(item) = rest.next() {
        if item.starts_with("--") {
            options.push(item.clone());
            if !item.contains('=') {
                options.extend(rest.next().cloned());
            }
        } else if let Some(tag) = item.strip_prefix('-') {
            remove.push(tag.to_owned());
        } else {
            add.push(item.strip_prefix('+').unwrap_or(item).to_owned());
        }
    }
    Ok((add, remove, Trailing::try_parse_from(options)?))
}

pub fn tag(args: &TagArgs) -> anyhow::Result<ExitCode> {
    let (add, remove, trailing) = changes(&args.changes)?;
    let (rt, store) = open(trailing.db.given().or(args.db.given()))?;
    let run = rt.block_on(store.run(&args.run))?;
    let tags = if add.is_empty() && remove.is_empty() {
        run.run.tags
    } else {
        rt.block_on(store.edit_tags(&run.id, &add, &remove))?
    };
    rt.block_on(store.close());
    let shown = if tags.is_empty() { "(none)".to_owned() } else { tags.join(", ") };
    println!("run {}: tags {shown}", run.id);
    Ok(ExitCode::SUCCESS)
}

pub fn note(args: &NoteArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let run = rt.block_on(store.run(&args.run))?;
    let note = match &args.text {
        None => run.run.note,
        Some(text) => {
            rt.block_on(store.set_note(&run.id, Some(text)))?;
            rt.block_on(store.run(&run.id))?.run.note
        }
    };
    rt.block_on(store.close());
    println!("run {}: note {}", run.id, note.map_or_else(|| "(none)".to_owned(), |n| format!("{n:?}")));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_say_add_or_remove_and_options_may_follow() {
        let typed = ["+best", "-draft", "--db", "x.db", "q2"].map(String::from);
        let (add, remove, trailing) = changes(&typed).unwrap();
        assert_eq!((add, remove), (vec!["best".to_owned(), "q2".to_owned()], vec!["draft".to_owned()]));
        assert_eq!(trailing.db.given(), Some("x.db"));
        let (_, _, trailing) = changes(&["-old".into(), "--db=y.db".into()]).unwrap();
        assert_eq!(trailing.db.given(), Some("y.db"));
        assert!(changes(&["--colour".into(), "red".into()]).is_err(), "an unknown option is refused");
    }
}
