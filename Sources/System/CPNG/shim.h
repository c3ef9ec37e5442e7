#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
// libpng's simplified read API, wrapped so Swift needs none of its macros (PNG_IMAGE_VERSION,
// PNG_FORMAT_RGBA, PNG_IMAGE_SIZE). Debian's libpng-dev puts png.h in /usr/include.
#include <png.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/// Decodes a PNG held in memory to 8-bit RGBA rows, top to bottom, no padding.
/// Returns 0 and sets *pixels (free() it), *width and *height; on failure returns -1 with the
/// reason in message. Images of more than max_pixels pixels are refused before decoding.
static inline int wb_png_decode_rgba(const unsigned char *data, size_t size, size_t max_pixels,
                                     unsigned char **pixels, unsigned *width, unsigned *height,
                                     char *message, size_t message_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    *pixels = NULL;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        snprintf(message, message_size, "%s", image.message);
        return -1;
    }
    if ((size_t)image.width * (size_t)image.height > max_pixels) {
        snprintf(message, message_size, "the image is %ux%u pixels, more than %zu", image.width, image.height, max_pixels);
        png_image_free(&image);
        return -1;
    }
    image.format = PNG_FORMAT_RGBA;
    unsigned char *buffer = malloc(PNG_IMAGE_SIZE(image));
    if (buffer == NULL) {
        snprintf(message, message_size, "out of memory");
        png_image_free(&image);
        return -1;
    }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        snprintf(message, message_size, "%s", image.message);
        free(buffer);
        png_image_free(&image);
        return -1;
    }
    *pixels = buffer;
    *width = image.width;
    *height = image.height;
    return 0;
}
#endif
