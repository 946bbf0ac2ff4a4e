const TOKEN_UNIT = 10n ** 18n;

/** Formats token base units as eINR with two decimals (rounded down) and thousands separators. */
export function formatTokens(amountWei: bigint): string {
  const negative = amountWei < 0n;
  const absolute = negative ? -amountWei : amountWei;
  const whole = absolute / TOKEN_UNIT;
  const cents = (absolute % TOKEN_UNIT) / (TOKEN_UNIT / 100n);
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}.${cents.toString().padStart(2, "0")}`;
}

/** Formats a number of seconds as "2h05m", "12m30s" or "45s". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / 3_600);
  const minutes = Math.floor((whole % 3_600) / 60);
  const rest = whole % 60;
  if (hours > 0) {
    return `${hours}h${String(minutes).padStart(2, "0")}m`;
  }
  if (minutes > 0) {
    return `${minutes}m${String(rest).padStart(2, "0")}s`;
  }
  return `${rest}s`;
}

/** Formats a unix second as weekday, date and time in `timeZone`, such as "Sat 04 Jan 2025 13:42 IST". */
export function formatLocalTime(unixSecond: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone,
    weekday: "short",
    day: "2-digit",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  }).format(new Date(unixSecond * 1000));
}

/** Formats a count with its noun, singular for 1: "1 device", "3 devices", "1 customer". */
export function formatCount(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}

/** Pads or cuts `text` to exactly `width` characters. */
export function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** Draws a bar of `width` cells filled to `fraction` (0 to 1). */
export function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}
