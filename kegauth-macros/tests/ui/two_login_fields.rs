use kegauth_macros::AuthEntity;

struct UserCore;

#[derive(AuthEntity)]
#[auth(user, login = "username")]
struct User {
    id: i64,
    #[auth(login)]
    username: String,
    #[auth(login)]
    nickname: String,
    #[auth(core)]
    core: UserCore,
}

fn main() {}
