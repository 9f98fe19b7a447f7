//! Embeds `schema/` and `fixtures/seed/` into the binary, so that the one
//! binary needs nothing beside it (a `--schema-dir` can still override them).
use std::{env, fs, path::Path};

fn main() {
    let root = env::var("CARGO_MANIFEST_DIR").unwrap();
    let modules_dir = Path::new(&root).join("schema/modules");
    let mut names: Vec<String> = fs::read_dir(&modules_dir)
        .expect("schema/modules must exist")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut out = String::from("/// `schema/modules/*.json` as built into the binary.\npub static MODULE_FILES: &[(&str, &str)] = &[\n");
    for n in &names {
        let path = modules_dir.join(n);
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    for (konst, rel) in [
        ("OPERATIONS_FILE", "schema/operations.json"),
        ("FIELDTYPES_FILE", "schema/fieldtypes.json"),
        ("SEED_FILE", "fixtures/seed/seed.json"),
        ("ACCESS_FILE", "fixtures/seed/access.json"),
    ] {
        let path = Path::new(&root).join(rel);
        out.push_str(&format!(
            "/// `{rel}` as built into the binary.\npub static {konst}: &str = include_str!({:?});\n",
            path.display().to_string()
        ));
    }
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("embedded.rs"),
        out,
    )
    .unwrap();
    println!("cargo:rerun-if-changed=schema");
    println!("cargo:rerun-if-changed=schema/modules");
    println!("cargo:rerun-if-changed=fixtures/seed");
}
