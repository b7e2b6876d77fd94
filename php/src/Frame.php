<?php

declare(strict_types=1);

namespace Zygote;

/**
 * One protocol frame (docs/protocol.md, version 1).
 *
 *   byte  0      1        2      3      4 ........ 7
 *       +------+--------+------+------+-------------+
 *       | 0x5A | ver=1  | flags| 0    | job id u32  |
 *       +------+--------+------+------+-------------+
 *   byte  8 ....... 11   12 ...... 15
 *       +-------------+-------------+
 *       | context len | body len    |   (u32 little-endian)
 *       +-------------+-------------+
 *       | context: JSON object | body: raw bytes |
 *
 * flags: CONTROL (bit 0), ERROR (bit 1), MORE (bit 2, streamed response).
 */
final class Frame
{
    public const MAGIC = 0x5A;
    public const VERSION = 1;
    public const HEADER_SIZE = 16;

    public const CONTROL = 1;
    public const ERROR = 2;
    public const MORE = 4;
    private const KNOWN_FLAGS = self::CONTROL | self::ERROR | self::MORE;

    /** Nesting allowed in a context, both ways: deeper than any real one, shallower than a stack overflow. */
    public const MAX_DEPTH = 4096;

    /** @param array<string, mixed> $context */
    public function __construct(
        public readonly int $id,
        public readonly int $flags,
        public readonly array $context,
        public readonly string $body,
    ) {
    }

    public function isControl(): bool
    {
        return ($this->flags & self::CONTROL) !== 0;
    }

    public static function encodeHeader(int $id, int $flags, int $contextLength, int $bodyLength): string
    {
        return pack('CCCCVVV', self::MAGIC, self::VERSION, $flags, 0, $id, $contextLength, $bodyLength);
    }

    /** @param array<string, mixed> $context */
    public static function encodeContext(array $context): string
    {
        if ($context === []) {
            return '';
        }
        // As an object, so a map with keys 0..n is still sent as {"0": ...}.
        return json_encode((object) $context, JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE, self::MAX_DEPTH);
    }

    /**
     * Validates a header and returns [id, flags, contextLength, bodyLength].
     *
     * @return array{int, int, int, int}
     */
    public static function decodeHeader(string $header, int $maxFrameSize): array
    {
        $h = unpack('Cmagic/Cversion/Cflags/Creserved/Vid/Vcontext/Vbody', $header);
        if ($h['magic'] !== self::MAGIC) {
            throw new ProtocolException(sprintf('bad magic byte 0x%02x (expected 0x5a)', $h['magic']));
        }
        if ($h['version'] !== self::VERSION) {
            throw new ProtocolException("unsupported protocol version {$h['version']} (this runtime speaks 1)");
        }
        if (($h['flags'] & ~self::KNOWN_FLAGS) !== 0 || $h['reserved'] !== 0) {
            throw new ProtocolException(sprintf('unknown flags 0x%02x or reserved byte 0x%02x', $h['flags'], $h['reserved']));
        }
        if ($h['context'] + $h['body'] > $maxFrameSize) {
            throw new ProtocolException("frame of {$h['context']} + {$h['body']} bytes exceeds the maximum of $maxFrameSize");
        }
        return [$h['id'], $h['flags'], $h['context'], $h['body']];
    }

    /**
     * Throws InvalidContextException, naming $jobId, for a context that is
     * not a JSON object: the frame was read whole, so the caller decides
     * whether that fails one job or the channel.
     *
     * @return array<string, mixed>
     */
    public static function decodeContext(string $json, int $jobId = 0): array
    {
        if ($json === '') {
            return [];
        }
        try {
            $context = json_decode($json, true, self::MAX_DEPTH, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new InvalidContextException('context is not valid JSON: ' . $e->getMessage(), $jobId, $e);
        }
        if (!is_array($context) || ltrim($json)[0] !== '{') {
            throw new InvalidContextException('context must be a JSON object', $jobId);
        }
        return $context;
    }
}
