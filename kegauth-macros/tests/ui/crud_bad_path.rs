use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets", path = "widgets/")]
struct Widget {
    id: i64,
    #[crud(list, label, form)]
    name: String,
}

fn main() {}
