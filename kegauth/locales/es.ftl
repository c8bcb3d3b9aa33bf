# Las cadenas de kegauth en español. Las mismas claves que en en.ftl.

## Inicio y cierre de sesión
login-title = Iniciar sesión
login-email = Correo electrónico
login-username = Nombre de usuario
login-password = Contraseña
login-button = Iniciar sesión
login-forgot-link = Olvidé mi contraseña
login-success = Sesión iniciada.
session-expired = Su sesión ha caducado. Inicie sesión de nuevo.
session-ended = Esta sesión fue cerrada. Inicie sesión de nuevo.
login-failed = Usuario o contraseña incorrectos.
login-no-account = Ninguna cuenta coincide con: { $login }
login-wrong-password = Contraseña incorrecta.
login-disabled = Esta cuenta de usuario está desactivada.
login-unverified = La cuenta no ha sido verificada. Busque en su correo el enlace de verificación.
login-too-many = Demasiados intentos fallidos de inicio de sesión.
login-unavailable = El servicio de inicio de sesión no está disponible. Inténtelo de nuevo en unos momentos.
logout-title = Cerrar sesión
logout-question = ¿Cerrar la sesión en este sitio?
logout-button = Cerrar sesión
logout-done = Ha cerrado la sesión.

## Formularios y errores
form-has-errors = El formulario tiene errores; revíselos abajo.
form-expired = El formulario ha caducado o no fue enviado por este sitio. Vuelva atrás, recargue la página e inténtelo de nuevo.
field-required = Este campo es obligatorio.
field-in-use = Este valor ya está en uso.
field-too-long = Como máximo { $max } caracteres.
field-not-a-choice = `{ $value }` no es una opción válida.
field-not-whole-number = `{ $value }` no es un número entero.
field-not-number = `{ $value }` no es un número.
field-not-date = `{ $value }` no es una fecha (AAAA-MM-DD).
field-not-date-time = `{ $value }` no es una fecha y hora (AAAA-MM-DD HH:MM).
field-not-valid = `{ $value }` no es un valor válido.
invalid-email = Dirección de correo no válida.
login-id-empty = El identificador de acceso está vacío.
login-id-not-email = `{ $login }` no es una dirección de correo válida.
login-id-too-long = El identificador de acceso tiene más de { $max } bytes.
login-id-control = El identificador de acceso contiene un carácter de control (como un salto de línea).
passwords-must-match = Las contraseñas deben coincidir.
forbidden-title = Prohibido
forbidden-message = No tiene permiso para ver esta página.
error-unavailable-title = Servicio no disponible
error-unavailable = El servicio no está disponible temporalmente. Inténtelo de nuevo en unos momentos.
error-internal = Se produjo un error interno.

## Política de contraseñas
policy-too-short = La contraseña debe tener al menos { $min } caracteres.
policy-too-long = La contraseña debe tener como máximo { $max } bytes.
policy-too-common = La contraseña es demasiado fácil de adivinar. Pruebe con varias palabras poco comunes juntas.
policy-classes = La contraseña debe incluir al menos 3 de: minúscula, mayúscula, número o símbolo.
policy-no-username = La contraseña no puede contener el nombre de usuario.

## Contraseña olvidada, restablecimiento y verificación
forgot-title = Restablecer la contraseña
forgot-intro = Escriba el correo electrónico de su cuenta y le enviaremos un enlace para elegir una contraseña nueva.
forgot-button = Enviar correo de restablecimiento
forgot-back = Volver a la página de inicio de sesión
forgot-sent = Busque en su correo el enlace para cambiar su contraseña.
forgot-too-many = Demasiados intentos fallidos.
token-invalid = El enlace de autenticación no es válido o ha caducado. Rellene el formulario de abajo para recibir uno nuevo.
set-password-intro = Elija una contraseña para { $login }.
set-password-new = Contraseña nueva
set-password-confirm = Confirme la contraseña
reset-title = Completar el restablecimiento de la contraseña
reset-button = Cambiar la contraseña
reset-done = Contraseña cambiada. Inicie sesión abajo con la contraseña nueva.
reset-too-many = Demasiados intentos de restablecer la contraseña.
verify-title = Verificar la cuenta y elegir contraseña
verify-button = Verificar y guardar la contraseña
verify-done = Cuenta activada. Inicie sesión abajo.

## Correo
mail-reset-subject = [{ $site_abbr }] Enlace para restablecer la contraseña
mail-reset-intro = Alguien ha pedido restablecer su contraseña en { $site_name }.
mail-reset-ignore = Si no fue usted, puede ignorar este mensaje: su contraseña no cambia.
mail-reset-open = Para elegir una contraseña nueva, abra este enlace:
mail-reset-expiry = El enlace funciona una sola vez y solo durante unas horas.
mail-new-user-subject = [{ $site_abbr }] Bienvenida y verificación de usuario
mail-new-user-intro = Se ha creado una cuenta en { $site_name } para { $email }.
mail-new-user-open = Para verificar su correo electrónico y elegir una contraseña, abra este enlace:
mail-new-user-expiry = El enlace funciona una sola vez y solo durante unas horas. Si ha caducado, use «Olvidé mi contraseña» en la página de inicio de sesión para recibir uno nuevo.
mail-password-changed-subject = [{ $site_abbr }] Su contraseña fue cambiada
mail-password-changed-intro = La contraseña de la cuenta { $email } en { $site_name } acaba de cambiarse.
mail-password-changed-sessions = Todas las demás sesiones de la cuenta se cerraron.
mail-password-changed-not-you = Si no fue usted, restablezca su contraseña de inmediato con «Olvidé mi contraseña» en la página de inicio de sesión, y avise a los administradores del sitio.
mail-confirm-email-subject = [{ $site_abbr }] Confirme su nueva dirección de correo
mail-confirm-email-intro = Alguien pidió que { $email } sea la dirección de correo de una cuenta en { $site_name }.
mail-confirm-email-open = Para confirmar el cambio, abra este enlace:
mail-confirm-email-ignore = Si no fue usted, ignore este mensaje: nada cambia. El enlace funciona una sola vez, y solo durante unas horas.
mail-email-changed-subject = [{ $site_abbr }] Su dirección de correo está por cambiar
mail-email-changed-intro = Alguien con la sesión de { $email } en { $site_name } pidió cambiar la dirección de correo de la cuenta. El cambio ocurre cuando se abra el enlace enviado a la nueva dirección.
mail-email-changed-not-you = Si no fue usted, cambie su contraseña de inmediato y avise a los administradores del sitio.

## Páginas CRUD
crud-create = Crear { $name }
crud-edit-title = Editar { $name }
crud-delete-title = Eliminar { $name }
crud-filter = Filtrar
crud-export = Exportar CSV
crud-export-xlsx = Exportar Excel
crud-actions = Acciones
crud-edit = Editar
crud-delete = Eliminar
crud-cancel = Cancelar
crud-save = Guardar cambios
crud-none = No se encontraron registros.
crud-no-choices = No hay ninguno definido.
crud-no-matches = Sin coincidencias
crud-remove-choice = Quitar
crud-choice-added = añadido
crud-choice-removed = quitado
crud-pages = Páginas
crud-previous = Anterior
crud-next = Siguiente
crud-page = Página { $page } de { $pages } ({ $total } en total)
crud-delete-question = ¿Eliminar { $name } { $label }? No se puede deshacer.
crud-created = Se ha creado correctamente: { $name }
crud-modified = Se ha modificado correctamente: { $name }
crud-removed = Se ha eliminado correctamente: { $name }

## Páginas de administración
admin-user = Usuario
admin-users = Usuarios
admin-group = Grupo
admin-groups = Grupos
admin-bundle = Paquete
admin-bundles = Paquetes
admin-permission = Permiso
admin-permissions = Permisos
admin-name = Nombre
admin-description = Descripción
admin-enabled = Activo
admin-superuser = Superusuario
admin-verified = Verificado
admin-last-login = Último inicio de sesión
admin-disable-on = Desactivar el
admin-disable-on-help = UTC. La cuenta deja de funcionar a partir de este momento.
admin-send-welcome = Enviar correo de bienvenida
admin-send-welcome-help = Enviar al usuario un enlace para verificar la dirección y elegir una contraseña.
admin-password = Contraseña
admin-reset-password = Restablecer la contraseña
admin-password-help = Déjelo vacío para conservar la contraseña actual.
admin-confirm-password = Confirme la contraseña
admin-resend-verification = Reenviar verificación
admin-yes = Sí
admin-no = No
admin-cannot-grant = No puede conceder permisos que usted no tiene: { $permissions }
admin-delete-referenced = No se puede eliminar { $label }. Puede que otros elementos hagan referencia a él.
admin-delete-self = No puede eliminar su propia cuenta de usuario.
admin-already-verified = Este usuario ya está verificado.
admin-verification-sent = Se ha enviado el correo de verificación
admin-verification-failed = No se pudo enviar el correo de verificación. Inténtelo de nuevo más tarde.
admin-welcome-failed = No se pudo enviar el correo de bienvenida, así que el usuario no se creó. Inténtelo más tarde o cree el usuario sin el correo.

## Línea de órdenes
cli-user-created = Usuario creado.
cli-user-not-created = El usuario no se creó: { $error }
cli-mail-sent = Correo enviado con el enlace de verificación.
cli-verification-url = Enlace de verificación: { $url }
cli-unknown-user = Usuario desconocido: { $login }
cli-password-prompt = Contraseña:
cli-password-repeat = Repítala para confirmar:
cli-no-such-login = Error: ningún usuario tiene el identificador `{ $login }`
cli-passwords-differ = Error: los dos valores escritos no coinciden.
cli-password-rejected = La contraseña no cumple estas reglas:
cli-password-set = Contraseña establecida.
cli-token-revoked = Token de API revocado.
cli-attempts-deleted = Se eliminaron { $count } intentos.
cli-audit-deleted = Se eliminaron { $count } eventos de auditoría.
cli-sessions-deleted = Se eliminaron { $count } registros de sesión.
cli-audit-intact = El registro de auditoría está intacto ({ $count } eventos).
cli-audit-broken = El registro de auditoría está roto en el evento { $id }: se modificó, o se eliminó el evento anterior.

# OAuth / OpenID Connect
oauth-login-with = Iniciar sesión con { $provider }
oauth-failed = No se pudo completar el inicio de sesión. Inténtelo de nuevo.
oauth-refused = { $provider } no le permitió iniciar sesión.
oauth-no-identity = { $provider } no proporcionó una dirección de correo verificada para su cuenta.
oauth-wrong-domain = El inicio de sesión con { $provider } es solo para cuentas de { $domains }, no { $login }.
oauth-no-account = Ninguna cuenta coincide con { $login }. Pida a un administrador que le cree una.
login-use-provider = Las cuentas de { $domain } inician sesión con { $provider }.
admin-login-by-provider = Esta cuenta inicia sesión con { $provider }; su usuario no se puede cambiar.
oauth-other-identity = { $login } está vinculada a otra cuenta de { $provider }.

## La página de auditoría (/audit)
crud-any = cualquiera
audit-event = Evento de auditoría
audit-events = Eventos de auditoría
audit-time = Hora (UTC)
audit-kind = Evento
audit-outcome = Resultado
audit-actor = Por
audit-subject = Sobre
audit-client = Dirección del cliente
audit-detail = Detalle
audit-user = Usuario (inicio de sesión o #id)
audit-user-events = Eventos de auditoría de este usuario
audit-outcome-success = Correcto
audit-outcome-refused = Rechazado
audit-outcome-error = Error
audit-kind-login-success = Inicio de sesión correcto
audit-kind-login-failure = Inicio de sesión fallido
audit-kind-login-lockout = Inicio de sesión bloqueado
audit-kind-logout = Cierre de sesión
audit-kind-session-expired = Sesión caducada
audit-kind-password-set = Contraseña establecida
audit-kind-password-reset-requested = Restablecimiento de contraseña solicitado
audit-kind-verified = Cuenta verificada
audit-kind-token-issued = Token emitido
audit-kind-token-revoked = Token revocado
audit-kind-admin-create = Creado (administración)
audit-kind-admin-edit = Modificado (administración)
audit-kind-admin-delete = Eliminado (administración)
audit-kind-sessions-rotated = Sesiones cerradas por un cambio de permisos
audit-kind-csrf-refused = Formulario rechazado (CSRF)
audit-kind-cross-site-refused = Formulario rechazado (otro sitio)
audit-kind-audit-purged = Eventos de auditoría purgados
audit-kind-two-factor-enabled = Autenticación en dos pasos activada
audit-kind-two-factor-disabled = Autenticación en dos pasos desactivada
audit-kind-two-factor-checked = Código de dos pasos comprobado
audit-kind-recovery-code-used = Código de recuperación usado
audit-kind-recovery-codes-regenerated = Códigos de recuperación regenerados
audit-kind-passkey-added = Llave de acceso añadida
audit-kind-passkey-removed = Llave de acceso eliminada
audit-kind-mail-held = Correo retenido (límite por dirección)
audit-kind-sessions-ended = Sesiones cerradas
audit-kind-password-changed = Contraseña cambiada por su titular
audit-kind-login-changed = Identificador cambiado por su titular

## Segundos factores (TOTP, códigos de recuperación)
two-factor-title = Autenticación en dos pasos
two-factor-verify-title = Autenticación en dos pasos
two-factor-verify-intro = Introduce el código de 6 dígitos de tu aplicación de autenticación o uno de tus códigos de recuperación.
two-factor-code-label = Código
two-factor-verify-button = Verificar
two-factor-back-to-login = Empezar de nuevo
two-factor-expired = El inicio de sesión tardó demasiado o la cuenta cambió. Inicia sesión de nuevo.
two-factor-wrong-code = Ese código no es correcto o ya se usó.
two-factor-recovery-left = { $count ->
    [one] Iniciaste sesión con un código de recuperación. Te queda 1.
   *[other] Iniciaste sesión con un código de recuperación. Te quedan { $count }.
}
two-factor-status-on = La autenticación en dos pasos está activada.
two-factor-status-off = La autenticación en dos pasos está desactivada.
two-factor-begin-button = Activar la autenticación en dos pasos
two-factor-add-app-button = Añadir una aplicación de autenticación
two-factor-scan = Escanea este código QR con tu aplicación de autenticación y escribe el código que muestre para terminar.
two-factor-secret-label = O escribe esta clave en la aplicación:
two-factor-continue = Ya los guardé: continuar
two-factor-confirm-button = Confirmar y activar
two-factor-codes-intro = Tus códigos de recuperación. Cada uno sirve una vez, en lugar de un código de tu aplicación. Guárdalos en un lugar seguro: solo se muestran ahora.
two-factor-codes-left = { $count ->
    [one] Queda 1 código de recuperación.
   *[other] Quedan { $count } códigos de recuperación.
}
two-factor-reauth-intro = Para obtener códigos de recuperación nuevos o desactivar la autenticación en dos pasos, escribe un código de tu aplicación o tu contraseña.
two-factor-password-label = Contraseña
two-factor-regenerate-button = Nuevos códigos de recuperación
two-factor-disable-button = Desactivar la autenticación en dos pasos
two-factor-required-note = Tu cuenta debe usar la autenticación en dos pasos.
two-factor-already-on = La autenticación en dos pasos ya está activada.
two-factor-enabled = La autenticación en dos pasos está activada.
two-factor-disabled = La autenticación en dos pasos está desactivada.
two-factor-app-removed = Se quitó la aplicación de autenticación; sus llaves de acceso siguen siendo su segundo factor.
two-factor-codes-regenerated = Se crearon códigos de recuperación nuevos; los anteriores ya no sirven.
two-factor-reauth-failed = El código o la contraseña no son correctos.
two-factor-cannot-disable = Tu cuenta debe usar la autenticación en dos pasos: no se puede desactivar.
two-factor-must-enrol = Tu cuenta debe usar la autenticación en dos pasos. Actívala para continuar.
admin-two-factor-reset = Restablecer la autenticación en dos pasos
admin-two-factor-was-reset = Se restableció la autenticación en dos pasos; las sesiones del usuario terminaron.

## Llaves de acceso y llaves de seguridad (WebAuthn)
passkeys-title = Llaves de acceso y llaves de seguridad
passkeys-intro = Una llave de acceso le permite entrar sin contraseña; una llave de seguridad se pide después de la contraseña, en lugar de un código.
passkey-login-button = Entrar con una llave de acceso
passkey-verify-button = Usar una llave de acceso o de seguridad
passkey-add-button = Añadir
passkey-remove-button = Eliminar
passkey-remove-intro = Para eliminar una, introduzca a su lado un código de su aplicación o su contraseña.
passkey-name-label = Nombre (p. ej. el dispositivo)
passkey-kind-label = Uso
passkey-kind-passkey = llave de acceso
passkey-kind-security-key = llave de seguridad
passkey-kind-passkey-long = Llave de acceso: entrar sin contraseña
passkey-kind-security-key-long = Llave de seguridad: un segundo paso después de la contraseña
passkey-reauth-intro = Para añadir una, introduzca un código de su aplicación o su contraseña.
passkey-added = Llave de acceso añadida.
passkey-removed = Llave de acceso eliminada.
passkey-not-found = Esa llave de acceso no es suya.
passkey-refused = La llave de acceso no fue aceptada.
passkey-expired = La solicitud de la llave de acceso caducó. Inténtelo de nuevo.
passkey-already-registered = Esa llave de acceso ya está registrada.
passkey-name-invalid = Dé a la llave de acceso un nombre de 100 caracteres como máximo.
passkey-too-many = Una cuenta puede tener como máximo 20 llaves de acceso: elimine una primero.
passkey-failed = No se pudo usar la llave de acceso. Inténtelo de nuevo.
passkey-unsupported = Este navegador no puede usar llaves de acceso.

## The account page
account-title = Su cuenta
account-two-factor-link = Autenticación en dos pasos y llaves de acceso
account-password-heading = Cambiar la contraseña
account-current-password = Contraseña actual
account-new-password = Contraseña nueva
account-confirm-password = Contraseña nueva otra vez
account-password-button = Cambiar la contraseña
account-password-changed = Su contraseña fue cambiada. Todas las demás sesiones de su cuenta se cerraron.
account-wrong-password = Esta no es su contraseña actual.
account-email-heading = Cambiar la dirección de correo
account-username-heading = Cambiar el nombre de usuario
account-new-email = Dirección de correo nueva
account-new-username = Nombre de usuario nuevo
account-email-button = Enviar un enlace de confirmación
account-username-button = Cambiar el nombre de usuario
account-email-intro = Su dirección de correo es { $address }. La dirección nueva recibe un enlace; el cambio ocurre cuando se abre.
account-username-intro = Su nombre de usuario es { $address }.
account-login-same = Es el que ya tiene.
account-login-taken = Otra cuenta ya lo tiene.
account-login-provider = Las direcciones de este dominio inician sesión con { $provider }.
account-email-link-sent = Se envió un enlace de confirmación a { $address }. Ábralo para terminar el cambio.
account-username-changed = Su nombre de usuario ahora es { $address }.
account-email-changed = Su dirección de correo ahora es { $address }.
account-confirm-title = Confirme su nueva dirección de correo
account-confirm-intro = ¿Hacer de { $address } la dirección de correo de su cuenta?
account-confirm-button = Confirmar
account-confirm-invalid = Este enlace no es válido: ya se usó, caducó, o su contraseña o dirección de correo cambió desde que se envió.
account-sessions-heading = Dónde tiene la sesión iniciada
account-session-browser = Navegador
account-session-system = Sistema
account-session-address = Dirección
account-session-started = Inicio
account-session-last-seen = Última actividad
account-session-this-device = Este dispositivo
account-session-remembered = Recordada
account-session-unknown = Desconocido
account-session-end-button = Cerrar sesión
account-sessions-end-others-button = Cerrar todas las demás sesiones
account-session-ended = Esa sesión se cerró.
account-sessions-ended = { $count ->
    [one] Se cerró otra sesión.
   *[other] Se cerraron { $count } sesiones más.
}
login-remember-me = Recordarme en este dispositivo durante { $days } días
admin-sessions-heading = Sesiones
admin-sessions-none = No hay sesiones activas.
admin-sessions-end-all-button = Cerrar todas las sesiones
admin-sessions-ended = Se cerraron todas las sesiones de { $login }.
