//! Rebuild when the migrations change: `embed_migrations!` reads the directory at compile
//! time, and cargo would not otherwise notice a new migration.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
