#!/usr/bin/env python3
# Draws Parley's app icons into public/icons/ with Pillow (Debian: python3-pil): the
# favicon's speech bubble (public/favicon.svg), white on the brand green. The PNGs are kept in
# the repository; run this again only to change them:  python3 web/scripts/make-icons.py
import os

from PIL import Image, ImageDraw
GREEN = (11, 110, 79, 255)
WHITE = (255, 255, 255, 255)
SS = 8  # supersampling

def bubble(draw, scale, ox, oy, fill):
    # The favicon's bubble in its 64-unit box: a rounded rectangle and a tail.
    s = lambda v: v * scale
    draw.rounded_rectangle([ox + s(10), oy + s(18), ox + s(54), oy + s(44)], radius=s(6), fill=fill)
    draw.polygon([(ox + s(21), oy + s(43)), (ox + s(31), oy + s(43)), (ox + s(20), oy + s(52)), (ox + s(20), oy + s(43))], fill=fill)

def icon(size, rounded, content_share, background=GREEN, fg=WHITE):
    big = size * SS
    img = Image.new("RGBA", (big, big), (background or fg)[:3] + (0,))
    d = ImageDraw.Draw(img)
    if background:
        if rounded:
            d.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 14 // 64, fill=background)
        else:
            d.rectangle([0, 0, big, big], fill=background)
    # The bubble spans x 10..54 and y 18..52 of 64: centre it in `content_share` of the icon.
    scale = big * content_share / 64
    ox = (big - 64 * scale) / 2
    oy = (big - 64 * scale) / 2 - 3 * scale  # its centre is at y 35, a little low
    bubble(d, scale, ox, oy, fg)
    return img.resize((size, size), Image.LANCZOS)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "public", "icons") + os.sep
os.makedirs(out, exist_ok=True)
icon(192, True, 1.0).save(out + "icon-192.png", optimize=True)
icon(512, True, 1.0).save(out + "icon-512.png", optimize=True)
# Maskable: full bleed, the bubble inside the central safe circle (80%).
icon(512, False, 0.72).save(out + "maskable-512.png", optimize=True)
icon(192, False, 0.72).save(out + "maskable-192.png", optimize=True)
# iOS rounds the corners itself.
icon(180, False, 0.86).save(out + "apple-touch-icon.png", optimize=True)
# Notification badge: a white silhouette on transparent (Android masks it to one colour).
icon(96, False, 1.1, background=None).save(out + "badge-96.png", optimize=True)
