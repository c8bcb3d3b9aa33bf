use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets")]
struct Widget {
    id: i64,
    #[crud(list, form)]
    name: String,
}

fn main() {}
