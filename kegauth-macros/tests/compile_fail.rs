//! Misuse of `#[derive(AuthEntity)]`, `#[derive(Crud)]` and the `#[requires_*]`
//! attributes gives errors that point at the offending tokens.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
