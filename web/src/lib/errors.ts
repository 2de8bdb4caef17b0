// Errors of the API, and the sentences the client shows for them.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
    readonly attemptsLeft: number | null = null,
  ) {
    super(message);
  }
}

export function parseRetryAfter(v: string | null, now = Date.now()): number | null {
  if (v == null || v.trim() === "") return null;
  const n = Number(v.trim());
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, Math.ceil((t - now) / 1000));
}

export function waitText(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const m = Math.ceil(seconds / 60);
  return `${m} minute${m === 1 ? "" : "s"}`;
}

/** A sentence for an error of the sign-in calls. */
export function signInErrorText(e: ApiError): string {
  switch (e.code) {
    case "invalid_phone":
      return `That phone number does not look right: ${e.message}`;
    case "rate_limited":
      return e.retryAfter != null
        ? `Too many codes asked for. Please wait ${waitText(e.retryAfter)} before asking for a new one.`
        : "Too many codes asked for. Please wait a little before asking for a new one.";
    case "sms_failed":
      return `We could not send the SMS: ${e.message}`;
    case "invalid_code": {
      const n = e.attemptsLeft;
      if (n === 0) return "Wrong code. No tries left: ask for a new code.";
      if (n != null) return `Wrong code. ${n} ${n === 1 ? "try" : "tries"} left.`;
      return "Wrong code.";
    }
    case "code_expired":
      return "This code has expired or was already used. Ask for a new code.";
    case "too_many_attempts":
      return e.retryAfter != null
        ? `Too many wrong tries: this code no longer works. Ask for a new code (you can in ${waitText(e.retryAfter)}).`
        : "Too many wrong tries: this code no longer works. Ask for a new code.";
    case "invalid_name":
      return `Please choose another name: ${e.message}`;
    case "name_required":
      return "This number has no account yet. Tell us your name to create one.";
    case "network":
      return "Cannot reach Parley. Check your connection and try again.";
    default:
      return e.message || "Something went wrong. Please try again.";
  }
}

/** A sentence for an error of the contact and conversation calls. */
export function contactErrorText(e: ApiError): string {
  switch (e.code) {
    case "invalid_phone":
      return `That phone number does not look right: ${e.message}`;
    case "invalid_name":
      return `That name cannot be used: ${e.message}`;
    case "cannot_add_self":
      return "That is your own number.";
    case "user_not_found":
      return "Nobody uses Parley with that number yet.";
    case "already_contact":
      return "That person is already in your contacts.";
    case "not_a_contact":
      return "That person is not in your contacts.";
    case "network":
      return "Cannot reach Parley. Check your connection and try again.";
    default:
      return e.message || "Something went wrong. Please try again.";
  }
}

/** A sentence for a refused message:send. */
export function sendErrorText(code: string, message: string): string {
  switch (code) {
    case "body_too_long":
      return "Too long to send.";
    case "not_found":
      return "You are no longer in this conversation.";
    case "rate_limited":
      return "Sending too fast; retrying.";
    default:
      return message || "Not sent.";
  }
}

/** A sentence for a refused message:edit, message:delete or reaction:set. */
export function changeErrorText(action: "edit" | "delete" | "react", code: string, message: string): string {
  const what = action === "edit" ? "edit this message" : action === "delete" ? "delete this message" : "react to this message";
  switch (code) {
    case "not_allowed":
      return `You cannot ${what}${message ? `: ${message}` : "."}`;
    case "not_found":
      return "This message is no longer available.";
    case "body_too_long":
      return "This message is too long (at most 4,000 characters).";
    case "rate_limited":
      return "Too many changes at once. Please wait a moment and try again.";
    case "offline":
      return `You are offline: try again to ${what} once connected.`;
    case "no_answer":
      return "The server did not answer. Please try again.";
    default:
      return message || `Could not ${what}.`;
  }
}

/** A sentence for an error of the group calls. */
export function groupErrorText(e: ApiError): string {
  switch (e.code) {
    case "not_allowed":
      return e.message ? `Not allowed: ${e.message}` : "Only the group's admins can do that.";
    case "not_found":
      return "This group no longer exists, or you are not in it.";
    case "user_not_found":
      return "One of these people does not use Parley any more.";
    case "network":
      return "Cannot reach Parley. Check your connection and try again.";
    default:
      return e.message || "Something went wrong. Please try again.";
  }
}
