//! Embeds every `commands/*.yaml` grammar file: writes `$OUT_DIR/grammar_files.rs`, a list of
//! `(file name, include_str!(...))`, so a feature adds its grammar by adding a file, never by
//! editing a Rust list.

use std::fs;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it is compiled: a build script compiled in another
    // checkout (a copied `target/`) would otherwise embed that checkout's grammar.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("commands");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    // Sorted, so the grammar (and `?` listings built from it) does not depend on directory order.
    files.sort();
    let mut out = String::from("/// Every grammar file of `commands/`, sorted by name.\n");
    out.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().expect("file name").to_string_lossy();
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            name,
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("grammar_files.rs");
    fs::write(target, out).expect("write grammar_files.rs");
}
