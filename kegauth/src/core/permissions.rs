//! Permissions declared in code.

/// A permission token with an optional description, declared in code and
/// synced to the permissions table at launch.
///
/// Declare them with [`permissions!`](crate::permissions!).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PermissionDef {
    /// The token checked by `requires_permissions`.
    pub token: &'static str,
    /// Shown in the admin pages.
    pub description: Option<&'static str>,
}

impl PermissionDef {
    /// A permission.
    pub const fn new(token: &'static str, description: Option<&'static str>) -> Self {
        PermissionDef { token, description }
    }
}

impl AsRef<str> for PermissionDef {
    fn as_ref(&self) -> &str {
        self.token
    }
}

/// A permission as a type, for the [`Permission`](crate::guards::Permission)
/// guard; `permissions!` makes one with `NAME as Type = "token"`.
pub trait PermissionType: Send + Sync + 'static {
    /// The token.
    const TOKEN: &'static str;
}

/// Declare an app's permissions: one constant per permission, plus
/// `PERMISSIONS`, the slice of all of them, for the manager's sync.
/// `NAME as Type = ...` also declares a type for the
/// [`Permission`](crate::guards::Permission) guard.
///
/// keg-auth does not assume `auth-manage` exists: declare it to keep it.
///
/// ```
/// use kegauth::permissions::PermissionType;
/// kegauth::permissions! {
///     AUTH_MANAGE as AuthManage = "auth-manage": "manage users, groups, bundles, and view permissions";
///     PERMISSION1 = "permission1": "access view Foo";
///     PLAIN = "plain";
/// }
/// assert_eq!(PERMISSION1.token, "permission1");
/// assert_eq!(PLAIN.description, None);
/// assert_eq!(PERMISSIONS.len(), 3);
/// assert_eq!(AuthManage::TOKEN, "auth-manage");
/// ```
#[macro_export]
macro_rules! permissions {
    ($( $(#[$meta:meta])* $name:ident $(as $ty:ident)? = $token:literal $(: $desc:literal)? ;)*) => {
        $(
            $(#[$meta])*
            #[allow(dead_code)]
            pub const $name: $crate::PermissionDef =
                $crate::PermissionDef::new($token, $crate::permissions!(@desc $($desc)?));
            $(
                #[doc = concat!("The `", $token, "` permission, as a type.")]
                #[allow(dead_code)]
                pub struct $ty;
                impl $crate::permissions::PermissionType for $ty {
                    const TOKEN: &'static str = $token;
                }
            )?
        )*
        /// Every permission declared by this `permissions!` block.
        #[allow(dead_code)]
        pub const PERMISSIONS: &[$crate::PermissionDef] = &[$($name),*];
    };
    (@desc) => { ::core::option::Option::None };
    (@desc $desc:literal) => { ::core::option::Option::Some($desc) };
}

/// Check a declared set: tokens non-empty, at most 1024 characters, no duplicates.
pub(crate) fn validate(defs: &[PermissionDef]) -> crate::core::error::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for d in defs {
        if d.token.trim().is_empty() {
            return Err(crate::core::error::Error::Config(
                "a permission token is empty".into(),
            ));
        }
        if d.token.chars().count() > 1024 {
            return Err(crate::core::error::Error::Config(format!(
                "permission token `{}` is longer than 1024 characters",
                d.token
            )));
        }
        if !seen.insert(d.token) {
            return Err(crate::core::error::Error::Config(format!(
                "permission `{}` is declared twice",
                d.token
            )));
        }
    }
    Ok(())
}
