// `sqlx::migrate!` embeds `../migrations` at compile time but does not watch the folder: a new
// migration must rebuild this crate.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
