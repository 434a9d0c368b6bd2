//! Loading the command grammar: the YAML files of `commands/` (embedded at build time by
//! build.rs), parsed with serde-saphyr and checked into one [`Grammar`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

use super::syntax::{self, Node};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/grammar_files.rs"));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    words: BTreeMap<String, String>,
    #[serde(default)]
    commands: Vec<CommandDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandDoc {
    syntax: String,
    views: Vec<String>,
    handler: String,
    #[serde(default)]
    undo: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    /// Help of keywords in this command only, overriding the file-level `words:`.
    #[serde(default)]
    words: BTreeMap<String, String>,
    #[serde(default)]
    role: Option<RoleDoc>,
    /// Parameters whose values are secrets (keys, passwords, their hashes and ciphertexts).
    #[serde(default)]
    secret: Vec<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum RoleDoc {
    Admin,
    Operator,
}

/// One command of the grammar.
#[derive(Clone, Debug)]
pub struct Command {
    /// The grammar file it comes from (`system.yaml`).
    pub file: String,
    /// The syntax as written.
    pub text: String,
    pub syntax: Node,
    /// The `undo` form, starting with the keyword `undo`.
    pub undo: Option<Node>,
    /// View kinds (`user`, `system`, `interface`, ... or `any`).
    pub views: Vec<String>,
    pub handler: String,
    /// Help text of each parameter slot.
    pub params: BTreeMap<String, String>,
    /// Help text of keywords where this command offers them (`interface` after `display`),
    /// overriding the grammar-wide text.
    pub words: BTreeMap<String, String>,
    /// May a network-operator run it?
    pub operator: bool,
    /// Does it take `| include ...` (it starts with `display`)?
    pub pipe: bool,
    /// The parameters marked `secret:`: their values never reach the history or a log and
    /// are masked for a network-operator (`cli::secret`).
    pub secret: BTreeSet<String>,
}

impl Command {
    /// Does the command live in this view kind?
    pub fn in_view(&self, kind: &str) -> bool {
        self.views.iter().any(|v| v == kind || v == "any")
    }
}

/// All commands of all grammar files, with the help text of every keyword.
#[derive(Clone, Debug, Default)]
pub struct Grammar {
    /// Keyword -> help text. Several files may define a word only with the same text.
    pub words: BTreeMap<String, String>,
    pub commands: Vec<Command>,
}

/// A grammar file that cannot be used; the shell does not start with it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GrammarError {
    #[error("commands/{file}: {message}")]
    File { file: String, message: String },
    #[error("commands/{file}: command `{command}`: {message}")]
    Command {
        file: String,
        command: String,
        message: String,
    },
}

impl Grammar {
    /// Load and check grammar files given as `(file name, text)`.
    pub fn load(files: &[(&str, &str)]) -> Result<Grammar, GrammarError> {
        let mut grammar = Grammar::default();
        for (file, text) in files {
            let doc: FileDoc = serde_saphyr::from_str(text).map_err(|e| GrammarError::File {
                file: file.to_string(),
                message: e.to_string(),
            })?;
            for (word, help) in doc.words {
                // Files are taken in name order: with two texts for one word, the first file
                // would silently give its text to every other file's commands.
                match grammar.words.get(&word) {
                    Some(first) if *first != help => {
                        return Err(GrammarError::File {
                            file: file.to_string(),
                            message: format!(
                                "keyword `{word}` already has the help text \"{first}\" from another file; \
                                 give a different text in the `words:` of the commands that need it"
                            ),
                        });
                    }
                    Some(_) => {}
                    None => {
                        grammar.words.insert(word, help);
                    }
                }
            }
            for c in doc.commands {
                grammar.commands.push(Self::command(file, c)?);
            }
        }
        for c in &grammar.commands {
            grammar.check_help(c)?;
        }
        Ok(grammar)
    }

    fn command(file: &str, doc: CommandDoc) -> Result<Command, GrammarError> {
        let err = |message: String| GrammarError::Command {
            file: file.to_string(),
            command: doc.syntax.clone(),
            message,
        };
        let syntax = syntax::parse(&doc.syntax).map_err(|e| err(format!("syntax: {e}")))?;
        let first = syntax
            .first_keyword()
            .ok_or_else(|| err("the syntax must start with a keyword".into()))?;
        let undo = match &doc.undo {
            None => None,
            Some(u) => {
                let node = syntax::parse(u).map_err(|e| err(format!("undo: {e}")))?;
                if node.first_keyword() != Some("undo") {
                    return Err(err("the undo form must start with `undo`".into()));
                }
                Some(node)
            }
        };
        if doc.views.is_empty() || doc.views.iter().any(|v| v.is_empty()) {
            return Err(err("no view given".into()));
        }
        if doc.handler.is_empty() {
            return Err(err("no handler given".into()));
        }
        let pipe = first == "display";
        let operator = match doc.role {
            Some(r) => r == RoleDoc::Operator,
            None => pipe,
        };
        Ok(Command {
            file: file.to_string(),
            text: doc.syntax,
            syntax,
            undo,
            views: doc.views,
            handler: doc.handler,
            params: doc.params,
            words: doc.words,
            operator,
            pipe,
            secret: doc.secret.into_iter().collect(),
        })
    }

    /// Every keyword has help text, every parameter slot has help, and every `params:` entry
    /// names a slot (a misspelt one would silently show no help).
    fn check_help(&self, c: &Command) -> Result<(), GrammarError> {
        let err = |message: String| GrammarError::Command {
            file: c.file.clone(),
            command: c.text.clone(),
            message,
        };
        let mut names = Vec::new();
        let mut keywords = Vec::new();
        let mut problem = None;
        let mut visit = |n: &Node| match n {
            Node::Keyword(w) => {
                if !self.words.contains_key(w) && !c.words.contains_key(w) {
                    problem.get_or_insert(format!("keyword `{w}` has no help text in `words:`"));
                }
                keywords.push(w.clone());
            }
            Node::Param(p) => {
                if !c.params.contains_key(&p.name) {
                    problem.get_or_insert(format!(
                        "parameter <{}> has no help text in `params:`",
                        p.name
                    ));
                }
                names.push(p.name.clone());
            }
            _ => {}
        };
        c.syntax.walk(&mut visit);
        if let Some(u) = &c.undo {
            u.walk(&mut visit);
        }
        if let Some(p) = problem {
            return Err(err(p));
        }
        // Keywords and parameters share the `Args` namespace: `<ip:ipv4>` after the keyword
        // `ip` would make `args.ipv4("ip")` find the keyword.
        if let Some(clash) = names.iter().find(|n| keywords.contains(n)) {
            return Err(err(format!(
                "parameter <{clash}> has the name of a keyword of the same command"
            )));
        }
        if let Some(extra) = c.words.keys().find(|k| !keywords.contains(k)) {
            return Err(err(format!(
                "`words:` names `{extra}`, which is not a keyword of the command"
            )));
        }
        if let Some(extra) = c.params.keys().find(|k| !names.contains(k)) {
            return Err(err(format!(
                "`params:` names <{extra}>, which is not in the syntax"
            )));
        }
        if let Some(extra) = c.secret.iter().find(|k| !names.contains(k)) {
            return Err(err(format!(
                "`secret:` names <{extra}>, which is not a parameter of the syntax"
            )));
        }
        Ok(())
    }

    /// Help text of a keyword.
    pub fn word_help(&self, word: &str) -> &str {
        self.words.get(word).map(String::as_str).unwrap_or("")
    }

    /// Help text of a keyword where `command` offers it: the command's own text if it has
    /// one, else the grammar-wide text.
    pub fn word_help_in<'a>(&'a self, command: &'a Command, word: &str) -> &'a str {
        command
            .words
            .get(word)
            .map(String::as_str)
            .unwrap_or_else(|| self.word_help(word))
    }
}

/// The grammar built into this binary (every `commands/*.yaml`), loaded once.
pub fn builtin() -> Result<&'static Grammar, &'static GrammarError> {
    static GRAMMAR: OnceLock<Result<Grammar, GrammarError>> = OnceLock::new();
    GRAMMAR
        .get_or_init(|| Grammar::load(embedded::FILES))
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Grammar, GrammarError> {
        Grammar::load(&[("t.yaml", text)])
    }

    #[test]
    fn loads_commands_and_roles() {
        let g = load(
            "words:\n  display: Display\n  clock: Clock\n  sysname: Name\n\
             commands:\n  - syntax: display clock\n    views: [any]\n    handler: t.clock\n\
             \x20 - syntax: sysname <name:text(1-64)>\n    views: [system]\n    handler: t.sysname\n\
             \x20   undo: undo sysname\n    params:\n      name: Host name\n",
        );
        let g = g.unwrap_err();
        // `undo` has no help text yet.
        assert_eq!(
            g.to_string(),
            "commands/t.yaml: command `sysname <name:text(1-64)>`: keyword `undo` has no help text in `words:`"
        );
        let g = load(
            "words:\n  display: Display\n  clock: Clock\n  sysname: Name\n  undo: Undo\n\
             commands:\n  - syntax: display clock\n    views: [any]\n    handler: t.clock\n\
             \x20 - syntax: sysname <name:text(1-64)>\n    views: [system]\n    handler: t.sysname\n\
             \x20   undo: undo sysname\n    params:\n      name: Host name\n",
        )
        .unwrap();
        assert_eq!(g.commands.len(), 2);
        assert!(g.commands[0].operator && g.commands[0].pipe);
        assert!(!g.commands[1].operator && !g.commands[1].pipe);
        assert!(g.commands[1].undo.is_some());
        assert!(g.commands[0].in_view("interface"));
        assert!(!g.commands[1].in_view("user"));
    }

    #[test]
    fn errors_name_file_and_command() {
        let e =
            load("commands:\n  - syntax: a {\n    views: [user]\n    handler: t.a\n").unwrap_err();
        assert!(
            matches!(&e, GrammarError::Command { file, command, .. } if file == "t.yaml" && command == "a {")
        );
        let e = load("commands:\n  - syntax: a\n    view: [user]\n    handler: t.a\n").unwrap_err();
        assert!(matches!(e, GrammarError::File { .. }), "{e}");
        let e = load("words: {a: A}\ncommands:\n  - syntax: a <x:int(1-2)>\n    views: [user]\n    handler: t.a\n")
            .unwrap_err();
        assert!(e.to_string().contains("parameter <x> has no help"), "{e}");
        let e = load(
            "words: {a: A}\ncommands:\n  - syntax: a\n    views: [user]\n    handler: t.a\n    params: {y: Y}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("names <y>"), "{e}");
        let e = load("words: {a: A}\ncommands:\n  - syntax: a\n    views: []\n    handler: t.a\n")
            .unwrap_err();
        assert!(e.to_string().contains("no view"), "{e}");
        let e = load("words: {a: A}\ncommands:\n  - syntax: a\n    views: [user]\n    handler: t.a\n    undo: a\n")
            .unwrap_err();
        assert!(e.to_string().contains("must start with `undo`"), "{e}");
        let e = load("words: {a: A}\ncommands:\n  - syntax: <x:int(1-2)>\n    views: [user]\n    handler: t.a\n")
            .unwrap_err();
        assert!(e.to_string().contains("start with a keyword"), "{e}");
    }

    #[test]
    fn a_command_overrides_the_help_of_its_keywords() {
        let g = load(
            "words: {display: Display, interface: Enter an interface view}\n\
             commands:\n  - syntax: display interface\n    views: [any]\n    handler: t.d\n\
             \x20   words: {interface: Interface information}\n\
             \x20 - syntax: interface\n    views: [system]\n    handler: t.i\n",
        )
        .unwrap();
        assert_eq!(
            g.word_help_in(&g.commands[0], "interface"),
            "Interface information"
        );
        assert_eq!(g.word_help_in(&g.commands[0], "display"), "Display");
        assert_eq!(
            g.word_help_in(&g.commands[1], "interface"),
            "Enter an interface view"
        );
        // A keyword known only to one command's `words:` is enough for that command.
        let g = load(
            "commands:\n  - syntax: a\n    views: [user]\n    handler: t.a\n    words: {a: A}\n",
        )
        .unwrap();
        assert_eq!(g.word_help_in(&g.commands[0], "a"), "A");
        let e = load(
            "words: {a: A}\ncommands:\n  - syntax: a\n    views: [user]\n    handler: t.a\n    words: {b: B}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`words:` names `b`"), "{e}");
    }

    #[test]
    fn one_keyword_one_global_text() {
        let a = ("a.yaml", "words: {ip: Specify IP configuration}\n");
        let same = ("b.yaml", "words: {ip: Specify IP configuration}\n");
        let other = ("c.yaml", "words: {ip: IP address}\n");
        assert!(Grammar::load(&[a, same]).is_ok());
        let e = Grammar::load(&[a, other]).unwrap_err();
        assert!(
            matches!(&e, GrammarError::File { file, message } if file == "c.yaml" && message.contains("`ip`")),
            "{e}"
        );
    }

    /// Grammar and handlers stay in step: every handler the grammar names is registered, and
    /// every registered handler is reachable from the grammar.
    #[test]
    fn grammar_and_registry_agree() {
        let g = builtin().unwrap_or_else(|e| panic!("{e}"));
        let registry = crate::cli::Registry::all();
        let named: std::collections::BTreeSet<&str> =
            g.commands.iter().map(|c| c.handler.as_str()).collect();
        let missing: Vec<String> = g
            .commands
            .iter()
            .filter(|c| registry.get(&c.handler).is_none())
            .map(|c| format!("{} (commands/{}: {})", c.handler, c.file, c.text))
            .collect();
        assert!(
            missing.is_empty(),
            "handlers named in the grammar but not registered: {missing:?}"
        );
        let unused: Vec<&str> = registry.names().filter(|n| !named.contains(n)).collect();
        assert!(
            unused.is_empty(),
            "registered handlers no command names: {unused:?}"
        );
    }

    #[test]
    fn secret_names_a_parameter() {
        let g = load(
            "words: {k: K}\ncommands:\n  - syntax: k <key:string(1-8)>\n    views: [user]\n    handler: t.k\n    params: {key: Key}\n    secret: [key]\n",
        )
        .unwrap();
        assert!(g.commands[0].secret.contains("key"));
        let e = load(
            "words: {k: K}\ncommands:\n  - syntax: k <key:string(1-8)>\n    views: [user]\n    handler: t.k\n    params: {key: Key}\n    secret: [k]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`secret:` names <k>"), "{e}");
    }

    /// A parameter described as a password or a key is marked `secret:` (public keys aside),
    /// so a new command with a secret cannot forget the marker that protects it.
    #[test]
    fn passwords_and_keys_are_marked_secret() {
        let g = builtin().unwrap_or_else(|e| panic!("{e}"));
        let unmarked: Vec<String> = g
            .commands
            .iter()
            .flat_map(|c| {
                c.params
                    .iter()
                    .filter(|(name, help)| {
                        let help = help.to_lowercase();
                        (help.contains("password") || help.contains("key"))
                            && !help.contains("public key")
                            && !c.secret.contains(*name)
                    })
                    .map(move |(name, _)| format!("<{name}> of `{}` (commands/{})", c.text, c.file))
            })
            .collect();
        assert!(
            unmarked.is_empty(),
            "secrets without `secret:`: {unmarked:?}"
        );
        assert!(g.commands.iter().filter(|c| !c.secret.is_empty()).count() >= 4);
    }

    #[test]
    fn builtin_grammar_loads() {
        let g = builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            embedded::FILES
                .iter()
                .any(|(name, _)| *name == "shell.yaml")
        );
        assert!(g.commands.iter().any(|c| c.handler == "shell.system_view"));
    }
}
