use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(group)]
struct Group {
    id: i64,
    name: String,
    #[auth(column = "name")]
    label: String,
}

fn main() {}
