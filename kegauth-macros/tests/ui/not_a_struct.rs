use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(group)]
enum Group {
    Admins,
}

fn main() {}
