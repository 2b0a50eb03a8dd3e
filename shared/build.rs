//! `refinery::embed_migrations!` reads `infra/migrations` at compile time, but cargo
//! does not know that: without this, a new migration file is not embedded until something
//! else changes in the crate.

fn main() {
    println!("cargo:rerun-if-changed=../infra/migrations");
}
