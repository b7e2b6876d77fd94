<?php
// The entry point php-zygote prepends to the app script
// (php -d auto_prepend_file=.../php/autoload.php app.php). Apps can also
// require it themselves: require getenv('PHP_ZYGOTE_RUNTIME') . '/autoload.php';
// It checks the PHP build, then autoloads the Zygote\ classes.
//
// An app that requires it runs without Node too: `php app.php` then reaches
// Zygote::serve(), which says how to start the app, instead of dying on
// `Class "Zygote\Zygote" not found`. Under Node it was prepended already,
// so a second load (a plain require, or another path to this file) must
// not register the autoloader twice.
if (defined('PHP_ZYGOTE_AUTOLOAD')) {
    return;
}
define('PHP_ZYGOTE_AUTOLOAD', __FILE__);

require_once __DIR__ . '/preflight.php';

$phpZygoteProblem = php_zygote_preflight_problem(PHP_VERSION_ID, array_map('strtolower', get_loaded_extensions()));
if ($phpZygoteProblem !== null) {
    fwrite(STDERR, $phpZygoteProblem . "\n");
    exit(78); // EX_CONFIG
}
unset($phpZygoteProblem);

spl_autoload_register(static function ($class) {
    if (strncmp($class, 'Zygote\\', 7) === 0) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 7)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
