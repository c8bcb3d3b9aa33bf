use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets")]
struct Widget {
    id: i64,
    #[crud(label, form, sort)]
    name: String,
}

fn main() {}
