//! Rebuilds the crate when a built-in template changes: `include_dir!` embeds `templates/`,
//! but cargo does not see files added to or removed from it without being told.

fn main() {
    println!("cargo:rerun-if-changed=../../templates");
}
