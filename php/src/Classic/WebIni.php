<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * The ini settings where the CLI and a web SAPI differ, set to
 * php.ini-production's web values unless the command line set them (the
 * Node side passes its `ini` option as -d key=value). Only the command
 * line counts as a choice: the CLI's own values (unlimited memory, no
 * time limit, no output buffer) are built in or come from the CLI's
 * php.ini, and are exactly what docroot mode must not inherit.
 */
final class WebIni
{
    /** php.ini-production values. */
    public const DEFAULTS = [
        'memory_limit' => '128M',
        'max_execution_time' => '30',
        'output_buffering' => '4096',
        // The CLI forces 0: errors shown with display_errors on would be
        // plain text, where a browser gets them as HTML under php-fpm.
        'html_errors' => '1',
    ];

    /** @var array<string, string> the settings the worker applies per request */
    private array $values;

    /** @param array<string, string> $values one for each key of DEFAULTS */
    private function __construct(array $values)
    {
        $this->values = $values;
    }

    public static function fromCommandLine(): self
    {
        $commandLine = self::commandLineSettings((string) @file_get_contents('/proc/self/cmdline'));
        $values = [];
        foreach (self::DEFAULTS as $key => $default) {
            $values[$key] = $commandLine[$key] ?? $default;
        }
        return new self($values);
    }

    /**
     * The settings values() gave, in a later request of a reused worker
     * (the master read the command line once: RequestLoop::keep()).
     * Anything missing or not a string falls back to the default.
     */
    public static function fromValues(mixed $values): self
    {
        $checked = [];
        foreach (self::DEFAULTS as $key => $default) {
            $checked[$key] = is_array($values) && is_string($values[$key] ?? null) ? $values[$key] : $default;
        }
        return new self($checked);
    }

    /** @return array<string, string> */
    public function values(): array
    {
        return $this->values;
    }

    /**
     * The -d settings in a NUL-separated command line (/proc/self/cmdline),
     * up to the script name: "-d k=v", "-dk=v".
     *
     * @return array<string, string>
     */
    public static function commandLineSettings(string $cmdline): array
    {
        $args = explode("\0", rtrim($cmdline, "\0"));
        $settings = [];
        for ($i = 1; $i < count($args); $i++) {
            $arg = $args[$i];
            if ($arg === '-d' && isset($args[$i + 1])) {
                $arg = '-d' . $args[++$i];
            }
            if (str_starts_with($arg, '-d') && strlen($arg) > 2) {
                [$key, $value] = explode('=', substr($arg, 2), 2) + [1 => '1'];
                $settings[trim($key)] = $value;
            } elseif (!str_starts_with($arg, '-')) {
                break; // the script: what follows is its own arguments
            }
        }
        return $settings;
    }

    /**
     * In the master, after the boot file: the memory limit (the boot file
     * itself may need more, as a framework's cache warm-up does).
     */
    public function applyToMaster(): void
    {
        $this->applyMemoryLimit();
    }

    /** The memory limit; also at the start of each request of a reused worker, whose ini_set() values PHP undoes between requests. */
    public function applyMemoryLimit(): void
    {
        if (ini_set('memory_limit', $this->values['memory_limit']) === false) {
            fwrite(\Zygote\Runtime::stderr(), 'php-zygote docroot: memory_limit=' . $this->values['memory_limit'] . ' refused (the master already uses ' . memory_get_usage(true) . " bytes); workers keep memory_limit=" . ini_get('memory_limit') . "\n");
        }
    }

    /**
     * In the worker, at the start of its request. max_execution_time is
     * started here, not in the master: its timer (setitimer, CPU time)
     * is not inherited across fork(2), and in the master it would count
     * the master's own CPU time and one day kill it.
     */
    public function applyToRequest(): void
    {
        set_time_limit((int) $this->values['max_execution_time']);
        ini_set('html_errors', $this->values['html_errors']);
        // output_buffering is read-only at run time: its buffer is started
        // the way PHP starts it for a web request (the "default output
        // handler", flushed to the client every 4096 bytes).
        $chunk = RequestGlobals::bytes($this->values['output_buffering']);
        if (in_array(strtolower($this->values['output_buffering']), ['on', 'yes', 'true'], true)) {
            $chunk = 0; // "On": one unlimited buffer, as in PHP
            ob_start();
        } elseif ($chunk > 0) {
            ob_start(null, $chunk);
        }
        // The CLI's implicit_flush=1 would make every write a flush(), so
        // every echo a streamed part; web SAPIs have it off.
        ob_implicit_flush(false);
    }
}
