use kegauth_macros::AuthEntity;

struct UserCore;

#[derive(AuthEntity)]
#[auth(user)]
struct User {
    id: i64,
    email: String,
    #[auth(core(pasword = "pw_hash"))]
    core: UserCore,
}

fn main() {}
