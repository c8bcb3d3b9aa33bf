use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets")]
struct Widget {
    id: String,
    #[crud(list, label, form)]
    name: String,
}

fn main() {}
