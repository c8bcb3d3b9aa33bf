use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(path = "/widgets")]
struct Widget {
    id: i64,
    #[crud(list, label, form)]
    name: String,
}

fn main() {}
