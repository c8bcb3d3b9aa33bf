# kegauth's English strings, the fallback for every other language.
# Every catalog has the same keys; the tests in src/i18n.rs check that, and
# that the templates and the code use only keys that are here (and all of them).

## Login and logout
login-title = Log In
login-email = Email
login-username = User Name
login-password = Password
login-button = Log In
login-forgot-link = I forgot my password
login-success = Login successful.
session-expired = Your session has expired. Please log in again.
session-ended = This session was ended. Please log in again.
login-failed = Invalid login or password.
login-no-account = No user account matches: { $login }
login-wrong-password = Invalid password.
login-disabled = This user account is disabled.
login-unverified = The account has not been verified. Please check your email for a verification link.
login-too-many = Too many failed login attempts.
login-unavailable = The login service is unavailable. Please try again shortly.
logout-title = Log Out
logout-question = Log out of this site?
logout-button = Log Out
logout-done = You have been logged out.

## Forms and errors
form-has-errors = The form has errors, please see below.
form-expired = The form has expired or was not sent by this site. Please go back, reload the page and try again.
field-required = This field is required.
field-in-use = This value is already in use.
field-too-long = At most { $max } characters.
field-not-a-choice = `{ $value }` is not a valid choice.
field-not-whole-number = `{ $value }` is not a whole number.
field-not-number = `{ $value }` is not a number.
field-not-date = `{ $value }` is not a date (YYYY-MM-DD).
field-not-date-time = `{ $value }` is not a date and time (YYYY-MM-DD HH:MM).
field-not-valid = `{ $value }` is not a valid value.
invalid-email = Invalid email address.
login-id-empty = The login id is empty.
login-id-not-email = `{ $login }` is not a valid email address.
login-id-too-long = The login id is longer than { $max } bytes.
login-id-control = The login id contains a control character (such as a line break).
passwords-must-match = Passwords must match.
forbidden-title = Forbidden
forbidden-message = You do not have permission to see this page.
error-unavailable-title = Service unavailable
error-unavailable = The service is temporarily unavailable. Please try again shortly.
error-internal = An internal error occurred.

## Password policy
policy-too-short = Password must be at least { $min } characters long.
policy-too-long = Password must be at most { $max } bytes long.
policy-too-common = Password is too easy to guess. Try a few uncommon words together.
policy-classes = Password must include at least 3 of lowercase letter, uppercase letter, number and/or symbol.
policy-no-username = Password may not contain username.

## Forgot, reset and verify
forgot-title = Initiate Password Reset
forgot-intro = Enter the email address of your account and we will send you a link to set a new password.
forgot-button = Send Reset Email
forgot-back = Back to the login page
forgot-sent = Please check your email for the link to change your password.
forgot-too-many = Too many failed attempts.
token-invalid = Authentication token was invalid or expired.  Please fill out the form below to get a new token.
set-password-intro = Choose a password for { $login }.
set-password-new = New Password
set-password-confirm = Confirm Password
reset-title = Complete Password Reset
reset-button = Change Password
reset-done = Password changed.  Please use the new password to login below.
reset-too-many = Too many password reset attempts.
verify-title = Verify Account & Set Password
verify-button = Verify & Set Password
verify-done = Account activated.  Please login below.

## Mail
mail-reset-subject = [{ $site_abbr }] Password Reset Link
mail-reset-intro = Somebody asked to reset your password on { $site_name }.
mail-reset-ignore = If this was not you, you can safely ignore this message: your password stays as it is.
mail-reset-open = To set a new password, open this link:
mail-reset-expiry = The link works once, and only for a few hours.
mail-new-user-subject = [{ $site_abbr }] User Welcome & Verification
mail-new-user-intro = An account on { $site_name } was created for { $email }.
mail-new-user-open = To verify your email address and choose a password, open this link:
mail-new-user-expiry = The link works once, and only for a few hours. If it has expired, use "I forgot my password" on the login page to get a new one.
mail-password-changed-subject = [{ $site_abbr }] Your password was changed
mail-password-changed-intro = The password of the account { $email } on { $site_name } was just changed.
mail-password-changed-sessions = Every other session of the account was logged out.
mail-password-changed-not-you = If you did not do this, reset your password at once with "I forgot my password" on the login page, and tell the site's administrators.
mail-confirm-email-subject = [{ $site_abbr }] Confirm your new email address
mail-confirm-email-intro = Somebody asked to make { $email } the email address of an account on { $site_name }.
mail-confirm-email-open = To confirm the change, open this link:
mail-confirm-email-ignore = If this was not you, ignore this message: nothing changes. The link works once, and only for a few hours.
mail-email-changed-subject = [{ $site_abbr }] Your email address is being changed
mail-email-changed-intro = Somebody logged in as { $email } on { $site_name } asked to change the account's email address. The change happens once the link sent to the new address is opened.
mail-email-changed-not-you = If you did not do this, change your password at once and tell the site's administrators.

## CRUD pages
crud-create = Create { $name }
crud-edit-title = Edit { $name }
crud-delete-title = Delete { $name }
crud-filter = Filter
crud-export = Export CSV
crud-export-xlsx = Export Excel
crud-actions = Actions
crud-edit = Edit
crud-delete = Delete
crud-cancel = Cancel
crud-save = Save Changes
crud-none = No records found.
crud-no-choices = None defined.
crud-no-matches = No matches
crud-remove-choice = Remove
crud-choice-added = added
crud-choice-removed = removed
crud-pages = Pages
crud-previous = Previous
crud-next = Next
crud-page = Page { $page } of { $pages } ({ $total } total)
crud-delete-question = Delete { $name } { $label }? This cannot be undone.
crud-created = Successfully created { $name }
crud-modified = Successfully modified { $name }
crud-removed = Successfully removed { $name }

## Admin pages
admin-user = User
admin-users = Users
admin-group = Group
admin-groups = Groups
admin-bundle = Bundle
admin-bundles = Bundles
admin-permission = Permission
admin-permissions = Permissions
admin-name = Name
admin-description = Description
admin-enabled = Enabled
admin-superuser = Superuser
admin-verified = Verified
admin-last-login = Last Login
admin-disable-on = Disable On
admin-disable-on-help = UTC. The account stops working from this moment on.
admin-send-welcome = Send Welcome Email
admin-send-welcome-help = Mail the user a link to verify the address and set a password.
admin-password = Password
admin-reset-password = Reset Password
admin-password-help = Leave empty to keep the current password.
admin-confirm-password = Confirm Password
admin-resend-verification = Resend Verification
admin-yes = Yes
admin-no = No
admin-cannot-grant = You cannot grant permissions you do not hold: { $permissions }
admin-delete-referenced = Unable to delete { $label }. It may be referenced by other items.
admin-delete-self = You cannot delete your own user account.
admin-already-verified = This user is already verified.
admin-verification-sent = Verification email has been sent
admin-verification-failed = The verification email could not be sent. Please try again later.
admin-welcome-failed = The welcome email could not be sent, so the user was not created. Try again later, or create the user without the email.

## Command line
cli-user-created = User created.
cli-user-not-created = The user was not created: { $error }
cli-mail-sent = Email sent with verification URL.
cli-verification-url = Verification URL: { $url }
cli-unknown-user = Unknown user: { $login }
cli-password-prompt = Password:
cli-password-repeat = Repeat for confirmation:
cli-no-such-login = Error: no user has login id `{ $login }`
cli-passwords-differ = Error: the two entered values do not match.
cli-password-rejected = Password does not meet the following restrictions:
cli-password-set = Password set.
cli-token-revoked = API token revoked.
cli-attempts-deleted = Deleted { $count } attempts.
cli-audit-deleted = Deleted { $count } audit events.
cli-sessions-deleted = Deleted { $count } session records.
cli-audit-intact = The audit trail is intact ({ $count } events).
cli-audit-broken = The audit trail is broken at event { $id }: it was changed, or the event before it was removed.

# OAuth / OpenID Connect
oauth-login-with = Log in with { $provider }
oauth-failed = The sign-in could not be completed. Please try again.
oauth-refused = { $provider } did not let you sign in.
oauth-no-identity = { $provider } did not give a verified email address for your account.
oauth-wrong-domain = { $provider } sign-in is only for accounts at { $domains }, not { $login }.
oauth-no-account = No account here matches { $login }. Ask an administrator to create one.
login-use-provider = Accounts at { $domain } log in with { $provider }.
admin-login-by-provider = This account logs in with { $provider }; its login cannot be changed.
oauth-other-identity = { $login } is linked to a different { $provider } account.

## The audit page (/audit)
crud-any = any
audit-event = Audit event
audit-events = Audit events
audit-time = Time (UTC)
audit-kind = Event
audit-outcome = Outcome
audit-actor = By
audit-subject = About
audit-client = Client address
audit-detail = Detail
audit-user = User (login or #id)
audit-user-events = Audit events of this user
audit-outcome-success = Success
audit-outcome-refused = Refused
audit-outcome-error = Error
audit-kind-login-success = Login succeeded
audit-kind-login-failure = Login failed
audit-kind-login-lockout = Login locked out
audit-kind-logout = Logout
audit-kind-session-expired = Session expired
audit-kind-password-set = Password set
audit-kind-password-reset-requested = Password reset requested
audit-kind-verified = Account verified
audit-kind-token-issued = Token issued
audit-kind-token-revoked = Token revoked
audit-kind-admin-create = Created (admin)
audit-kind-admin-edit = Changed (admin)
audit-kind-admin-delete = Deleted (admin)
audit-kind-sessions-rotated = Sessions ended by a rights change
audit-kind-csrf-refused = Form refused (CSRF)
audit-kind-cross-site-refused = Form refused (cross-site)
audit-kind-audit-purged = Audit events purged
audit-kind-two-factor-enabled = Two-factor authentication turned on
audit-kind-two-factor-disabled = Two-factor authentication turned off
audit-kind-two-factor-checked = Two-factor code checked
audit-kind-recovery-code-used = Recovery code used
audit-kind-recovery-codes-regenerated = Recovery codes regenerated
audit-kind-passkey-added = Passkey added
audit-kind-passkey-removed = Passkey removed
audit-kind-mail-held = Mail held back (limit per address)
audit-kind-sessions-ended = Sessions ended
audit-kind-password-changed = Password changed by its owner
audit-kind-login-changed = Login changed by its owner

## Second factors (TOTP, recovery codes)
two-factor-title = Two-factor authentication
two-factor-verify-title = Two-factor authentication
two-factor-verify-intro = Enter the 6-digit code from your authenticator app, or one of your recovery codes.
two-factor-code-label = Code
two-factor-verify-button = Verify
two-factor-back-to-login = Start over
two-factor-expired = The login took too long or the account changed. Please log in again.
two-factor-wrong-code = That code is not right, or was already used.
two-factor-recovery-left = { $count ->
    [one] You logged in with a recovery code. You have 1 left.
   *[other] You logged in with a recovery code. You have { $count } left.
}
two-factor-status-on = Two-factor authentication is on.
two-factor-status-off = Two-factor authentication is off.
two-factor-begin-button = Turn on two-factor authentication
two-factor-add-app-button = Add an authenticator app
two-factor-scan = Scan this QR code with your authenticator app, then enter the code it shows to finish.
two-factor-secret-label = Or type this key into the app:
two-factor-continue = I have saved them: continue
two-factor-confirm-button = Confirm and turn on
two-factor-codes-intro = Your recovery codes. Each works once, in place of a code from your app. Keep them somewhere safe: they are shown only now.
two-factor-codes-left = { $count ->
    [one] 1 recovery code left.
   *[other] { $count } recovery codes left.
}
two-factor-reauth-intro = To get new recovery codes or turn two-factor authentication off, enter a code from your app or your password.
two-factor-password-label = Password
two-factor-regenerate-button = New recovery codes
two-factor-disable-button = Turn off two-factor authentication
two-factor-required-note = Your account must use two-factor authentication.
two-factor-already-on = Two-factor authentication is already on.
two-factor-enabled = Two-factor authentication is on.
two-factor-disabled = Two-factor authentication is off.
two-factor-app-removed = The authenticator app is removed; your passkeys still stand as your second factor.
two-factor-codes-regenerated = New recovery codes made; the old ones no longer work.
two-factor-reauth-failed = The code or password is not right.
two-factor-cannot-disable = Your account must use two-factor authentication: it cannot be turned off.
two-factor-must-enrol = Your account must use two-factor authentication. Please turn it on to continue.
admin-two-factor-reset = Reset two-factor authentication
admin-two-factor-was-reset = Two-factor authentication was reset; the user's sessions ended.

## Passkeys and security keys (WebAuthn)
passkeys-title = Passkeys and security keys
passkeys-intro = A passkey signs you in without a password; a security key is asked for after your password, in place of a code.
passkey-login-button = Sign in with a passkey
passkey-verify-button = Use a passkey or security key
passkey-add-button = Add
passkey-remove-button = Remove
passkey-remove-intro = To remove one, enter a code from your app or your password beside it.
passkey-name-label = Name (e.g. the device)
passkey-kind-label = Use
passkey-kind-passkey = passkey
passkey-kind-security-key = security key
passkey-kind-passkey-long = Passkey: sign in without a password
passkey-kind-security-key-long = Security key: a second step after the password
passkey-reauth-intro = To add one, enter a code from your app or your password.
passkey-added = Passkey added.
passkey-removed = Passkey removed.
passkey-not-found = That passkey is not one of yours.
passkey-refused = The passkey was not accepted.
passkey-expired = The passkey request expired. Please try again.
passkey-already-registered = That passkey is already registered.
passkey-name-invalid = Give the passkey a name of at most 100 characters.
passkey-too-many = An account can have at most 20 passkeys: remove one first.
passkey-failed = The passkey could not be used. Please try again.
passkey-unsupported = This browser cannot use passkeys.

## The account page
account-title = Your account
account-two-factor-link = Two-factor authentication and passkeys
account-password-heading = Change password
account-current-password = Current password
account-new-password = New password
account-confirm-password = New password again
account-password-button = Change password
account-password-changed = Your password was changed. Every other session of your account was logged out.
account-wrong-password = This is not your current password.
account-email-heading = Change email address
account-username-heading = Change username
account-new-email = New email address
account-new-username = New username
account-email-button = Send a confirmation link
account-username-button = Change username
account-email-intro = Your email address is { $address }. The new address gets a link; the change happens when it is opened.
account-username-intro = Your username is { $address }.
account-login-same = This is your current one.
account-login-taken = Another account has it already.
account-login-provider = Addresses of this domain log in through { $provider }.
account-email-link-sent = A confirmation link was sent to { $address }. Open it to finish the change.
account-username-changed = Your username is { $address } now.
account-email-changed = Your email address is { $address } now.
account-confirm-title = Confirm your new email address
account-confirm-intro = Make { $address } the email address of your account?
account-confirm-button = Confirm
account-confirm-invalid = This link is not valid: it was used already, it has expired, or your password or email address has changed since it was sent.
account-sessions-heading = Where you are logged in
account-session-browser = Browser
account-session-system = System
account-session-address = Address
account-session-started = Started
account-session-last-seen = Last seen
account-session-this-device = This device
account-session-remembered = Remembered
account-session-unknown = Unknown
account-session-end-button = Log out
account-sessions-end-others-button = Log out all other sessions
account-session-ended = That session was logged out.
account-sessions-ended = { $count ->
    [one] One other session was logged out.
   *[other] { $count } other sessions were logged out.
}
login-remember-me = Remember me on this device for { $days } days
admin-sessions-heading = Sessions
admin-sessions-none = No active sessions.
admin-sessions-end-all-button = End all sessions
admin-sessions-ended = All sessions of { $login } were ended.
