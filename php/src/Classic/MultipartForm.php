<?php

declare(strict_types=1);

namespace Zygote\Classic;

use Zygote\Http\HeaderBytes;

/**
 * A multipart/form-data request as the HTTP front took it apart
 * (`context.upload`, docs/protocol.md "Document root jobs"): the fields,
 * and the files already in temp files. Turns them into $_POST and $_FILES
 * as PHP's own parser (main/rfc1867.c) would: the same naming rules,
 * because the names go through parse_str(), which registers variables
 * exactly as PHP registers form fields, and the same $_FILES layout.
 */
final class MultipartForm
{
    /** The keys of one $_FILES entry, in the order PHP adds them (full_path since 8.1). */
    private const KEYS = ['name', 'full_path', 'type', 'tmp_name', 'error', 'size'];

    /**
     * @param list<array{string, string}> $fields
     * @param list<array{string, array{name: string, full_path: string, type: string, tmp_name: string, error: int, size: int}>> $files
     * @param list<string> $warnings PHP's request startup warnings (limits the front applied)
     */
    private function __construct(private readonly array $fields, private readonly array $files, public readonly array $warnings)
    {
    }

    /** From the context's `upload`, every string bytes as the front carries them; null when it has no usable shape. */
    public static function fromContext(mixed $upload): ?self
    {
        if (!is_array($upload) || !is_array($upload['fields'] ?? null) || !is_array($upload['files'] ?? null)) {
            return null;
        }
        $fields = [];
        foreach ($upload['fields'] as $pair) {
            if (is_array($pair) && is_string($pair[0] ?? null) && is_string($pair[1] ?? null)) {
                $fields[] = [HeaderBytes::decode($pair[0]), HeaderBytes::decode($pair[1])];
            }
        }
        $files = [];
        foreach ($upload['files'] as $pair) {
            $file = $pair[1] ?? null;
            if (!is_array($pair) || !is_string($pair[0] ?? null) || !is_array($file)) {
                continue;
            }
            $entry = [];
            foreach (self::KEYS as $key) {
                $value = $file[$key] ?? null;
                $entry[$key] = $key === 'error' || $key === 'size' ? (is_int($value) ? $value : 0) : (is_string($value) ? HeaderBytes::decode($value) : '');
            }
            $files[] = [HeaderBytes::decode($pair[0]), $entry];
        }
        $warnings = array_values(array_filter((array) ($upload['warnings'] ?? []), 'is_string'));
        return new self($fields, $files, $warnings);
    }

    /** @return list<array{string, string}> the fields' names and values, in the body's order */
    public function fields(): array
    {
        return $this->fields;
    }

    /** @return array<string, mixed> */
    public function post(): array
    {
        $pairs = array_map(static fn (array $f): string => rawurlencode($f[0]) . '=' . rawurlencode($f[1]), $this->fields);
        parse_str(implode('&', $pairs), $post);
        return $post;
    }

    /**
     * $_FILES: `f` gives $_FILES['f'] = [name, full_path, type, tmp_name,
     * error, size]; `f[]`, `f[a][b]` give $_FILES['f']['name'][...] with
     * the field's indexes under each key, as PHP registers `f[name][a][b]`.
     * Where each file lands is found by parse_str() on the field names
     * alone (one variable per file, values its position), so `[]`
     * appends, repeated names overwrite and names are mangled as PHP does.
     *
     * @return array<string, mixed>
     */
    public function files(): array
    {
        $pairs = [];
        foreach ($this->accepted() as $i => [$field]) {
            $pairs[] = rawurlencode($field) . '=' . $i;
        }
        parse_str(implode('&', $pairs), $places);
        $files = [];
        foreach ($places as $name => $place) {
            if (!is_array($place)) {
                $files[$name] = $this->files[(int) $place][1];
                continue;
            }
            foreach (self::KEYS as $key) {
                $tree = $place; // a copy per key: the walk replaces its leaves
                array_walk_recursive($tree, function (&$leaf) use ($key): void {
                    $leaf = $this->files[(int) $leaf][1][$key];
                });
                $files[$name][$key] = $tree;
            }
        }
        return $files;
    }

    /** @return list<string> the temp files of this request, for PHP's list of uploads */
    public function uploadedPaths(): array
    {
        $paths = [];
        foreach ($this->accepted() as [, $file]) {
            if ($file['error'] === UPLOAD_ERR_OK && $file['tmp_name'] !== '') {
                $paths[] = $file['tmp_name'];
            }
        }
        return $paths;
    }

    /**
     * The files whose field name PHP would accept: brackets balanced and
     * nothing after a `]` but another `[` ("never repair potential
     * malicious user input", main/rfc1867.c skips the others).
     *
     * @return array<int, array{string, array<string, string|int>}>
     */
    private function accepted(): array
    {
        return array_filter($this->files, static function (array $file): bool {
            $depth = 0;
            $name = $file[0];
            for ($i = 0, $n = strlen($name); $i < $n; $i++) {
                if ($name[$i] === '[') {
                    $depth++;
                } elseif ($name[$i] === ']') {
                    $depth--;
                    if ($i + 1 < $n && $name[$i + 1] !== '[') {
                        return false;
                    }
                }
                if ($depth < 0) {
                    return false;
                }
            }
            return $depth === 0;
        });
    }
}
