// Inline SVG icons (part of the bundle: no outside host, no icon font). All decorative:
// the text next to them, or a visually hidden label, carries the meaning.

const common = { "aria-hidden": "true" as const, focusable: "false" as const, width: 18, height: 18, viewBox: "0 0 24 24" };

export const IconSend = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M3 20.5v-7l9-1.5-9-1.5v-7L22 12z" /></svg>
);
export const IconBack = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M20 11H7.8l5.6-5.6L12 4l-8 8 8 8 1.4-1.4L7.8 13H20z" /></svg>
);
export const IconClock = () => (
  <svg {...common} class="icon status-icon" width={14} height={14}><path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16zm-1 3v6l5 3 1-1.6-4-2.4V7z" /></svg>
);
export const IconCheck = () => (
  <svg {...common} class="icon status-icon" width={16} height={14}><path fill="currentColor" d="M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z" /></svg>
);
export const IconDoubleCheck = () => (
  <svg {...common} class="icon status-icon" width={18} height={14} viewBox="0 0 28 24"><path fill="currentColor" d="M7 16.2 2.8 12l-1.4 1.4L7 19 19 7l-1.4-1.4zm7.4 1.4L13 19l-.1-.1 1.4-1.4zM25.6 5.6 14 17.2l-1.3-1.3-1.4 1.4L14 20 27 7z" /></svg>
);
export const IconAlert = () => (
  <svg {...common} class="icon status-icon" width={14} height={14}><path fill="currentColor" d="M12 2 1 21h22zm1 15h-2v-2h2zm0-4h-2V9h2z" /></svg>
);
export const IconPlus = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6z" /></svg>
);
export const IconGroup = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0-1 .1c1.2.8 2 2 2 3.4V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z" /></svg>
);
export const IconMore = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M7.4 9.3 12 13.9l4.6-4.6L18 10.7l-6 6-6-6z" /></svg>
);
export const IconClose = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6z" /></svg>
);
export const IconAttach = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z" /></svg>
);
export const IconFile = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M6 2a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm7 7V3.5L18.5 9z" /></svg>
);
export const IconBell = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6V11c0-3.1-1.6-5.6-4.5-6.3V4a1.5 1.5 0 0 0-3 0v.7C7.6 5.4 6 7.9 6 11v5l-2 2v1h16v-1z" /></svg>
);
export const IconBellOff = () => (
  <svg {...common} class="icon"><path fill="currentColor" d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6.3V11c0-3.1-1.6-5.6-4.5-6.3V4a1.5 1.5 0 0 0-3 0v.7c-.5.1-1 .3-1.4.5L18 15.7zM4.4 3.1 3 4.5l3.2 3.2C6.1 8.1 6 8.6 6 9v7l-2 2v1h13.7l1.8 1.8 1.4-1.4z" /></svg>
);
