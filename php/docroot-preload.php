<?php
// opcache.preload of reused docroot workers (`serve --docroot --max-jobs N`
// sets it; from Node, the pool's `ini`).
//
// PHP's request shutdown, which a reused worker goes through after every
// request, undoes every class the request declared: without this, each
// request would autoload the runtime's classes again (a stat and an
// opcache look-up per file). Preloaded classes are declared once, when
// PHP starts, and stay for the life of the process, as php-fpm's own C
// code does. Nothing here runs per request, and the app's own classes
// are untouched. (The C declarations the runtime uses per request are
// preloaded the same way, by ffi.preload: php/src/Classic/FfiScope.php.)
//
// A preload file of the user's own (opcache.preload takes one file) is
// given as PHP_ZYGOTE_PRELOAD and required last.
declare(strict_types=1);

require __DIR__ . '/autoload.php';

$phpZygoteSources = new RecursiveIteratorIterator(new RecursiveDirectoryIterator(__DIR__ . '/src', FilesystemIterator::SKIP_DOTS));
foreach ($phpZygoteSources as $phpZygoteFile) {
    $phpZygoteName = 'Zygote\\' . strtr(substr($phpZygoteFile->getPathname(), strlen(__DIR__ . '/src/'), -4), '/', '\\');
    // Through the autoloader, so that a parent or interface comes first.
    class_exists($phpZygoteName) || interface_exists($phpZygoteName) || enum_exists($phpZygoteName);
}
unset($phpZygoteSources, $phpZygoteFile, $phpZygoteName);

if (($phpZygoteUserPreload = getenv('PHP_ZYGOTE_PRELOAD')) !== false && $phpZygoteUserPreload !== '') {
    require $phpZygoteUserPreload;
}
