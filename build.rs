// Recompile when a migration is added: `sqlx::migrate!()` embeds `migrations/` at build
// time, and without this a new migration file alone does not trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
