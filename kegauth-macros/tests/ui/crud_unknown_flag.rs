use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets")]
struct Widget {
    id: i64,
    #[crud(lst, label, form)]
    name: String,
}

fn main() {}
